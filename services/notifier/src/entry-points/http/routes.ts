import type { HttpServer } from '@tributary/runtime';

/** Admin routes of the notifier (health, readiness and metrics come from the runtime). */
export function registerRoutes(_http: HttpServer): void {}
