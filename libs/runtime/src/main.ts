import { ConfigError } from '@tributary/config';
import type { ServiceApp } from './service-app.ts';

/**
 * Process lifecycle shared by all services: build, start, listen; on SIGTERM/SIGINT stop in
 * order and exit 0; on a start-up failure exit 1 with the cause (a bad setting is named).
 */
export async function runMain(
  serviceName: string,
  build: () => Promise<{ app: ServiceApp; host: string; port: number }>,
): Promise<void> {
  let app: ServiceApp | undefined;
  const fail = (what: string, err: unknown): never => {
    const detail =
      err instanceof ConfigError
        ? err.message
        : err instanceof Error
          ? (err.stack ?? err.message)
          : String(err);
    process.stderr.write(`${serviceName}: ${what}: ${detail}\n`);
    process.exit(1);
  };
  process.on('unhandledRejection', (err) => {
    app?.runtime.logger.fatal({ err }, 'unhandled rejection');
    fail('unhandled rejection', err);
  });
  try {
    const built = await build();
    app = built.app;
    await app.start();
    const address = await app.http.listen({ host: built.host, port: built.port });
    app.runtime.logger.info({ address }, 'listening');
  } catch (err) {
    await app?.stop().catch(() => undefined);
    fail(err instanceof ConfigError ? 'refusing to start' : 'failed to start', err);
  }
  const started = app!;
  const shutdown = (signal: string) => {
    started.runtime.logger.info({ signal }, 'shutdown requested');
    started.stop().then(
      () => process.exit(0),
      (err: unknown) => fail('failed to stop cleanly', err),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
