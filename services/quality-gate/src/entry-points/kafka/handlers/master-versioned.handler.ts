import { masterVersioned } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import type { RunRefresh } from '../../refresh-runner.ts';

/** Refreshes the evaluation dataset when its master gets a new version (REFRESH_ON_MASTER_VERSIONED). */
export function masterVersionedHandler(run: RunRefresh, dataset: string) {
  return defineHandler({
    event: masterVersioned,
    async handle(master, ctx) {
      if (master.dataset !== dataset) return;
      await run({ trigger: 'MASTER_VERSIONED', runId: ctx.runId, masterVersion: master.master_version });
    },
  });
}
