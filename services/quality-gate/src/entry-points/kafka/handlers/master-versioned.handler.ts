import { masterVersioned } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import type { MasterVersions } from '../../../domain/ports.ts';
import type { RunRefresh } from '../../refresh-runner.ts';

/**
 * Records each master version of the dataset (what a master source reads), then, when `refresh`
 * (REFRESH_ON_MASTER_VERSIONED), refreshes the evaluation dataset from it. One run per master version:
 * a redelivery finds the run already recorded and is acknowledged, the run (ended, or still running or
 * parked for a retry) going on by its own means.
 */
export function masterVersionedHandler(opts: {
  run: RunRefresh;
  masters: Pick<MasterVersions, 'record'>;
  dataset: string;
  refresh: boolean;
}) {
  const { run, masters, dataset } = opts;
  return defineHandler({
    event: masterVersioned,
    async handle(master, ctx) {
      if (master.dataset !== dataset) return;
      // Recorded before the run starts, so that the run (and its retries) finds the version it reads.
      await masters.record({
        dataset,
        version: master.master_version,
        location: master.location,
        checksum: master.checksum,
        rowCount: master.row_count,
      });
      if (!opts.refresh) return;
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
