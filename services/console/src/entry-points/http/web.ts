import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { AppError } from '@tributary/errors';

/**
 * The built web client (`npm run build -w @tributary/console`): its files as they are, and
 * index.html for every other page address, so /batches/<id> can be opened or reloaded directly.
 */
export async function registerWeb(scope: FastifyInstance, distDir: string): Promise<void> {
  const built = existsSync(join(distDir, 'index.html'));
  if (built) {
    await scope.register(fastifyStatic, { root: distDir, wildcard: false, index: false });
  }
  // A catch-all GET route, not a not-found handler: the server's one not-found handler answers every
  // other method (CON_ERR_NOT_FOUND), and a route that matches nothing more specific lands here.
  scope.get('/*', async (req, reply) => {
    if (req.url.startsWith('/api/')) {
      throw new AppError('CON_ERR_NOT_FOUND', `no route ${req.method} ${req.url}`);
    }
    if (!built) {
      throw new AppError(
        'CON_ERR_WEB_NOT_BUILT',
        `the web client is not built in ${distDir}: run npm run build -w @tributary/console`,
      );
    }
    return reply
      .header('cache-control', 'no-cache')
      .header(
        'content-security-policy',
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
      )
      .sendFile('index.html');
  });
}
