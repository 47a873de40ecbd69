import { Cron } from 'croner';
import type { Redis } from 'ioredis';
import type { Worker } from '@tributary/runtime';
import type { Logger } from '@tributary/telemetry';
import type { RunRefresh } from '../refresh-runner.ts';

export interface RefreshScheduleOptions {
  cron: string;
  redis: Redis;
  /** Namespaces the Redis key (the service's schema and dataset), so separate deployments never collide. */
  keyPrefix: string;
  run: RunRefresh;
  logger: Logger;
}

/**
 * Fires the refresh on the cron schedule (UTC). Every replica's timer fires; a Redis SET NX on the
 * scheduled time lets one of them run it, and the unique scheduled time in Postgres makes a second
 * run impossible even if Redis lost the key.
 */
export function refreshSchedule(opts: RefreshScheduleOptions): Worker {
  let job: Cron | undefined;
  const inFlight = new Set<Promise<void>>();
  const fire = async (scheduled: Date) => {
    const scheduledFor = scheduled.toISOString();
    const won = await opts.redis.set(`${opts.keyPrefix}:${scheduledFor}`, '1', 'EX', 86_400, 'NX');
    if (won !== 'OK') return;
    const result = await opts.run({ trigger: 'SCHEDULE', scheduledFor });
    opts.logger.info({ scheduledFor, status: result.status }, 'scheduled refresh done');
  };
  return {
    name: 'refresh-schedule',
    start() {
      job = new Cron(opts.cron, { timezone: 'UTC', protect: true }, async (self) => {
        const scheduled = self.currentRun() ?? new Date();
        scheduled.setMilliseconds(0);
        const p = fire(scheduled).catch((err: unknown) =>
          opts.logger.error({ err }, 'scheduled refresh failed'),
        );
        inFlight.add(p);
        await p;
        inFlight.delete(p);
      });
    },
    async stop() {
      job?.stop();
      await Promise.allSettled(inFlight);
    },
  };
}
