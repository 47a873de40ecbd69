import { Instrumentation, type Logger } from '@tributary/telemetry';
import type { Worker, WorkerTick } from './service-app.ts';

export interface PollerOptions {
  /** Name of the worker. */
  name: string;
  /** Time between two ticks. */
  intervalMs: number;
  /** One round of work, e.g. claiming the due retries and running them. */
  tick: () => Promise<void>;
  logger: Logger;
  /** Log message of a failed tick (logged as a warning, the poller goes on); default `<name> failed`. */
  failureMessage?: string;
  /** Also tick once when the worker starts; default false. */
  tickOnStart?: boolean;
}

/**
 * A worker that calls `tick` every `intervalMs`, one call at a time (a tick due while the previous one
 * runs waits for it); stopping clears the timer and waits for the tick in progress. Each finished
 * tick is announced (`on('tick')`) with the time it began.
 */
export function intervalPoller(opts: PollerOptions): Worker {
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> = Promise.resolve();
  const failureMessage = opts.failureMessage ?? `${opts.name} failed`;
  const instrumentation = new Instrumentation<{ tick: WorkerTick }>();
  const round = async () => {
    const startedAt = Date.now();
    try {
      await opts.tick();
      instrumentation.emit('tick', { startedAt, settled: true });
    } catch (err) {
      opts.logger.warn({ err }, failureMessage);
      instrumentation.emit('tick', { startedAt, settled: false });
    }
  };
  const tick = () => {
    polling = polling.then(round);
  };
  return {
    name: opts.name,
    start() {
      if (opts.tickOnStart === true) tick();
      timer = setInterval(tick, opts.intervalMs);
    },
    async stop() {
      clearInterval(timer);
      await polling;
    },
    on: (name, listener) => instrumentation.on(name, listener),
  };
}
