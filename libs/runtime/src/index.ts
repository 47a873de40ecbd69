export { createRuntime, type Runtime, type RuntimeConfig, type RuntimeOptions } from './runtime.ts';
export { buildHttp } from './http.ts';
export { assembleService, type ServiceApp, type ServiceParts, type Worker } from './service-app.ts';
export { runMain } from './main.ts';
export { parseRequest, problem, registerAdminRoutes, type AdminScopeOptions } from './admin.ts';
