import { masterVersioned } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import type { RunRefresh } from '../../refresh-runner.ts';

/**
 * Refreshes the evaluation dataset when its master gets a new version (REFRESH_ON_MASTER_VERSIONED).
 * One run per master version: a redelivery finds the run already recorded and is acknowledged, the
 * run (ended, or still running or parked for a retry) going on by its own means.
 */
export function masterVersionedHandler(run: RunRefresh, dataset: string) {
  return defineHandler({
    event: masterVersioned,
    async handle(master, ctx) {
      if (master.dataset !== dataset) return;
      const result = await run({
        trigger: 'MASTER_VERSIONED',
        runId: ctx.runId,
        masterVersion: master.master_version,
      });
      if (result.status === 'duplicate') {
        ctx.log.info(
          { dataset, master_version: master.master_version, event_id: master.event_id },
          'master version already refreshed: redelivery acknowledged',
        );
      }
    },
  });
}
