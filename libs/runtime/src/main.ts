import { ConfigError } from '@tributary/config';
import { ConnectionRefusedError } from '@tributary/errors';
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
  let signalled: string | undefined;
  const fail = (what: string, err: unknown): never => {
    const detail =
      // A bad setting or a refused password/certificate: the message names what to fix.
      err instanceof ConfigError || err instanceof ConnectionRefusedError
        ? err.message
        : err instanceof Error
          ? (err.stack ?? err.message)
          : String(err);
    process.stderr.write(`${serviceName}: ${what}: ${detail}\n`);
    process.exit(1);
  };
  const shutdown = (signal: string) => {
    signalled ??= signal;
    // A signal during the build is acted on once the app exists (below).
    if (!app) return;
    const started = app;
    started.runtime.logger.info({ signal }, 'shutdown requested');
    // Stopping leaves the consumer group, so the next start does not wait out the session timeout.
    started.stop().then(
      () => process.exit(0),
      (err: unknown) => fail('failed to stop cleanly', err),
    );
  };
  // Installed before anything starts: a SIGTERM during start-up still stops cleanly.
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (err) => {
    app?.runtime.logger.fatal({ err }, 'unhandled rejection');
    fail('unhandled rejection', err);
  });
  try {
    const built = await build();
    app = built.app;
    if (signalled !== undefined) return shutdown(signalled);
    // Listen at once: /healthz answers (alive) and admin routes such as uploads work while the
    // consumer joins its group; /readyz says "not consuming" until it has.
    const address = await app.http.listen({ host: built.host, port: built.port });
    app.runtime.logger.info({ address }, 'listening');
    await app.start();
  } catch (err) {
    if (signalled !== undefined) return; // stopping already: a start interrupted by the stop is no failure
    await app?.stop().catch(() => undefined);
    fail(err instanceof ConfigError ? 'refusing to start' : 'failed to start', err);
  }
}
