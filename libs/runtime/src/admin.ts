import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError, type AreaWith } from '@tributary/errors';
import { sendError } from './errors.ts';
import { withSchemas, type HttpServer } from './http.ts';

export interface AdminScopeOptions {
  /** Bearer token every /admin request must carry. */
  token: string;
  /** Error-code area of the service, e.g. `RTP` gives `RTP_ERR_UNAUTHORIZED`. */
  area: AreaWith<'UNAUTHORIZED'>;
}

/**
 * Registers a service's admin routes under `/admin`, behind a bearer token compared in constant
 * time. Their errors go to the server's one error handler (installErrorHandling).
 */
export function registerAdminRoutes(
  http: HttpServer,
  opts: AdminScopeOptions,
  routes: (admin: HttpServer) => void,
): void {
  const expected = digest(opts.token);
  void http.register(
    (plugin, _opts, done) => {
      const admin = withSchemas(plugin);
      admin.addHook('onRequest', async (req, reply) => {
        const match = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
        if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
          await sendError(
            reply.header('www-authenticate', 'Bearer'),
            new AppError(`${opts.area}_ERR_UNAUTHORIZED`, 'a valid admin bearer token is required'),
          );
        }
      });
      routes(admin);
      done();
    },
    { prefix: '/admin' },
  );
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
