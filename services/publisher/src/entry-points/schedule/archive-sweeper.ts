import type { Worker } from '@tributary/runtime';
import type { Logger } from '@tributary/telemetry';

/** Runs `sweep` every `intervalMs` (and once at start), never twice at the same time. */
export function archiveSweeper(
  sweep: () => Promise<{ swept: string[] }>,
  intervalMs: number,
  logger: Logger,
): Worker {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = running
      .then(sweep)
      .then(({ swept }) => {
        if (swept.length > 0) logger.info({ swept }, 'expired archives deleted');
      })
      .catch((err: unknown) => logger.warn({ err }, 'archive sweep failed'));
  };
  return {
    name: 'archive-sweeper',
    start() {
      tick();
      timer = setInterval(tick, intervalMs);
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
