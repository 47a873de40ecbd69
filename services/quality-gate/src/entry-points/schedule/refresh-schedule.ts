import { Cron } from 'croner';
import type { Redis } from 'ioredis';
import type { Worker } from '@tributary/runtime';
import type { Logger } from '@tributary/telemetry';
import type { RunRefresh } from '../refresh-runner.ts';

/** One job's schedule: its name and cron (UTC; 5 fields, or 6 with seconds first). */
export interface JobSchedule {
  job: string;
  cron: string;
}

export interface RefreshScheduleOptions {
  /** The schedules in force now (jobs with a null schedule are left out). */
  schedules: () => JobSchedule[];
  /** Registers a listener called when the jobs may have changed (the catalog's new revision). */
  onChange: (listener: () => void) => void;
  redis: Redis;
  /** Namespaces the Redis key (the service's schema), so separate deployments never collide. */
  keyPrefix: string;
  run: RunRefresh;
  logger: Logger;
}

/**
 * Fires each refresh job on its own cron schedule (UTC). Every replica's timer fires; a Redis SET NX
 * on `<prefix>:<job>:<scheduled time>` lets one of them run it, and the unique (job, scheduled time)
 * in Postgres makes a second run impossible even if Redis lost the key. The timers follow the
 * catalog: a job added, removed or given another cron is rescheduled when its revision moves.
 */
export function refreshSchedule(opts: RefreshScheduleOptions): Worker {
  const timers = new Map<string, { cron: string; timer: Cron }>();
  const inFlight = new Set<Promise<void>>();
  let running = false;

  const fire = async (job: string, scheduled: Date) => {
    const scheduledFor = scheduled.toISOString();
    const won = await opts.redis.set(`${opts.keyPrefix}:${job}:${scheduledFor}`, '1', 'EX', 86_400, 'NX');
    if (won !== 'OK') return;
    const result = await opts.run({ job, trigger: 'SCHEDULE', scheduledFor });
    opts.logger.info({ job, scheduledFor, status: result.status }, 'scheduled refresh done');
  };

  const schedule = (job: string, cron: string): Cron | undefined => {
    try {
      return new Cron(cron, { timezone: 'UTC', protect: true }, async (self) => {
        const scheduled = self.currentRun() ?? new Date();
        scheduled.setMilliseconds(0);
        const p = fire(job, scheduled).catch((err: unknown) =>
          opts.logger.error({ err, job }, 'scheduled refresh failed'),
        );
        inFlight.add(p);
        await p;
        inFlight.delete(p);
      });
    } catch (err) {
      // The declaration's schema does not parse crons: one bad schedule must not stop the others.
      opts.logger.error({ err, job, cron }, 'refresh job not scheduled: its schedule is not a valid cron');
      return undefined;
    }
  };

  const sync = () => {
    if (!running) return;
    const wanted = new Map(opts.schedules().map((s) => [s.job, s.cron]));
    for (const [job, { cron, timer }] of timers) {
      if (wanted.get(job) === cron) continue;
      timer.stop();
      timers.delete(job);
      if (!wanted.has(job)) opts.logger.info({ job, cron }, 'refresh job unscheduled');
    }
    for (const [job, cron] of wanted) {
      if (timers.has(job)) continue;
      const timer = schedule(job, cron);
      if (!timer) continue;
      timers.set(job, { cron, timer });
      opts.logger.info({ job, cron, next: timer.nextRun()?.toISOString() }, 'refresh job scheduled');
    }
  };

  opts.onChange(sync);
  return {
    name: 'refresh-schedule',
    start() {
      running = true;
      sync();
    },
    async stop() {
      running = false;
      for (const { timer } of timers.values()) timer.stop();
      timers.clear();
      await Promise.allSettled(inFlight);
    },
  };
}
