import { intervalPoller, type Worker } from '@tributary/runtime';
import type { Logger } from '@tributary/telemetry';

/** Runs `sweep` every `intervalMs` (and once at start), never twice at the same time. */
export function archiveSweeper(
  sweep: () => Promise<{ swept: string[] }>,
  intervalMs: number,
  logger: Logger,
): Worker {
  return intervalPoller({
    name: 'archive-sweeper',
    intervalMs,
    logger,
    failureMessage: 'archive sweep failed',
    tickOnStart: true,
    tick: async () => {
      const { swept } = await sweep();
      if (swept.length > 0) logger.info({ swept }, 'expired archives deleted');
    },
  });
}
