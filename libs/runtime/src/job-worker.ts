import type { JobQueue } from '@tributary/jobs';
import type { Logger } from '@tributary/telemetry';
import { intervalPoller } from './poller.ts';
import type { Worker } from './service-app.ts';

/**
 * The service's durable jobs as a worker: starting it creates or migrates the jobs schema and the
 * queues (so it starts before the consumer, which sends jobs), then every `intervalMs` runs the due
 * jobs; stopping waits for the attempt in progress, then stops the queue. Each round is announced.
 */
export function jobWorker(
  queue: JobQueue,
  opts: {
    intervalMs: number;
    logger: Logger;
    /** Once the queues exist, before the first round: e.g. work parked by an older release, turned into jobs. */
    afterStart?: () => Promise<void>;
  },
): Worker {
  const poller = intervalPoller({
    name: 'job-worker',
    intervalMs: opts.intervalMs,
    logger: opts.logger,
    failureMessage: 'job poll failed',
    tick: async () => {
      await queue.poll();
    },
  });
  return {
    name: poller.name,
    start: async () => {
      await queue.start();
      await opts.afterStart?.();
      await poller.start();
    },
    stop: async () => {
      await poller.stop();
      await queue.stop();
    },
    on: (name, listener) => poller.on!(name, listener),
  };
}
