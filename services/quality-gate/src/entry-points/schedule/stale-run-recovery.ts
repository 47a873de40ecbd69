import { intervalPoller, type Worker } from '@tributary/runtime';
import type { Logger } from '@tributary/telemetry';
import type { RecoverStale } from '../refresh-runner.ts';

/**
 * Recovers the runs stuck in `running` (no heartbeat between tasks for REFRESH_STALE_AFTER_MS: the
 * replica executing them died or hung). Runs are started by their triggers, not taken from the job
 * queue, so their liveness is their heartbeat, not a job's lease; a recovered run with an attempt
 * left is parked like any failed attempt, its retry a refresh-retry job.
 */
export function staleRunRecovery(opts: {
  recoverStale: RecoverStale;
  intervalMs: number;
  logger: Logger;
}): Worker {
  return intervalPoller({
    name: 'stale-run-recovery',
    intervalMs: opts.intervalMs,
    logger: opts.logger,
    failureMessage: 'stale-run check failed',
    async tick() {
      await opts.recoverStale();
    },
  });
}
