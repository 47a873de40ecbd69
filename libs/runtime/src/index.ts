export { createRuntime, type Runtime, type RuntimeConfig, type RuntimeOptions } from './runtime.ts';
export { buildHttp, createHttp, withSchemas, type ApiInfo, type HttpServer } from './http.ts';
export {
  assembleService,
  type ServiceApp,
  type ServiceParts,
  type Worker,
  type WorkerTick,
} from './service-app.ts';
export { defineService, type HandlersOf, type ServiceManifest } from './manifest.ts';
export { intervalPoller, type PollerOptions } from './poller.ts';
export { outboxRelayWorker } from './outbox-worker.ts';
export { jobWorker } from './job-worker.ts';
export { runMain } from './main.ts';
export { registerAdminRoutes, type AdminScopeOptions } from './admin.ts';
export { installErrorHandling, sendError, validationProblem, type HttpArea } from './errors.ts';
