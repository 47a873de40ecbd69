import type { Worker } from '@tributary/runtime';
import type { Logger } from '@tributary/telemetry';
import type { DueRun } from '../../domain/ports.ts';
import type { RunRefresh } from '../refresh-runner.ts';

/**
 * Runs again the refresh runs whose retry is due. Claiming is a Postgres UPDATE … SKIP LOCKED, so
 * with several replicas each due run is retried by one of them; nothing sleeps in a handler.
 */
export function retryPoller(opts: {
  claimDue: (limit: number) => Promise<DueRun[]>;
  run: RunRefresh;
  intervalMs: number;
  logger: Logger;
}): Worker {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = running
      .then(async () => {
        for (const due of await opts.claimDue(10)) {
          const result = await opts.run({
            trigger: due.trigger,
            ...(due.scheduledFor === null ? {} : { scheduledFor: due.scheduledFor }),
            ...(due.masterVersion === null ? {} : { masterVersion: due.masterVersion }),
            resume: { datasetVersion: due.datasetVersion, attempt: due.attempt },
          });
          opts.logger.info(
            { dataset_version: due.datasetVersion, attempt: due.attempt, status: result.status },
            'retry done',
          );
        }
      })
      .catch((err: unknown) => opts.logger.warn({ err }, 'retry poll failed'));
  };
  return {
    name: 'refresh-retry-poller',
    start() {
      timer = setInterval(tick, opts.intervalMs);
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
