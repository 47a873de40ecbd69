import type { Worker } from '@tributary/runtime';
import type { Logger } from '@tributary/telemetry';

/** Calls `tick` every `intervalMs`, one call at a time; used for the due publish retries. */
export function duePoller(opts: {
  name: string;
  intervalMs: number;
  tick: () => Promise<void>;
  logger: Logger;
}): Worker {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  return {
    name: opts.name,
    start() {
      timer = setInterval(() => {
        running = running
          .then(opts.tick)
          .catch((err: unknown) => opts.logger.warn({ err }, `${opts.name} failed`));
      }, opts.intervalMs);
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
