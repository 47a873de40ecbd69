import { masterVersioned } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import type { MasterVersions } from '../../../domain/ports.ts';
import type { RefreshJobs } from '../../../domain/refresh-jobs.ts';
import type { RunRefresh } from '../../refresh-runner.ts';

/**
 * Records each master version of a dataset one of the refresh jobs reads (a master source) or
 * refreshes on, then runs every job of that dataset declared with `on_master_versioned`, one after
 * the other. One run per job and master version: a redelivery finds the runs already recorded and
 * is acknowledged, each run (ended, or still running or parked for a retry) going on by its own means.
 * The jobs are read from the catalog as they are when the event is handled.
 */
export function masterVersionedHandler(opts: {
  run: RunRefresh;
  masters: Pick<MasterVersions, 'record'>;
  jobs: RefreshJobs;
}) {
  const { run, masters } = opts;
  return defineHandler({
    event: masterVersioned,
    async handle(master, ctx) {
      const dataset = master.dataset;
      const jobs = (await opts.jobs.refreshed()).filter((j) => j.dataset === dataset);
      const reads = jobs.some(
        (j) => j.spec.on_master_versioned || j.spec.sources.some((s) => s.master === true),
      );
      if (!reads) return;
      // Recorded before the runs start, so that each run (and its retries) finds the version it reads.
      await masters.record({
        dataset,
        version: master.master_version,
        location: master.location,
        checksum: master.checksum,
        rowCount: master.row_count,
      });
      for (const job of jobs.filter((j) => j.spec.on_master_versioned)) {
        const result = await run({
          job: job.job,
          trigger: 'MASTER_VERSIONED',
          runId: ctx.runId,
          masterVersion: master.master_version,
        });
        if (result.status === 'duplicate') {
          ctx.log.info(
            { job: job.job, dataset, master_version: master.master_version, event_id: master.event_id },
            'master version already refreshed by this job: redelivery acknowledged',
          );
        }
      }
    },
  });
}
