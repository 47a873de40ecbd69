import type { HttpServer } from '@tributary/runtime';
import { registerApi, type ApiDeps } from './routes.ts';
import { registerSession, type SessionOptions } from './session.ts';
import { registerWeb } from './web.ts';

/** Everything the console serves: the login, its API over the services' admin APIs, the web client. */
export async function registerConsoleHttp(
  scope: HttpServer,
  opts: { session: SessionOptions; api: ApiDeps; distDir: string },
): Promise<void> {
  await registerSession(scope, opts.session);
  registerApi(scope, opts.api);
  await registerWeb(scope, opts.distDir);
}
