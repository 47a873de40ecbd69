import { masterVersioned } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import type { DataPipelineRuns } from '@tributary/telemetry';
import {
  decideRetrain,
  type DecideRetrainDeps,
  type DecideRetrainResult,
} from '../../../domain/decide-retrain.ts';

/**
 * Decides, for each new master version, whether the production model of each model its dataset
 * drives must be retrained; each decision is observed as it is made. The data_pipeline run of the
 * version ends here: `success` once it is decided (not again on a redelivery), `failed` when
 * dead-lettered; each retrain requested records the time since the batch.ready.
 */
export function masterVersionedHandler(
  deps: DecideRetrainDeps,
  observe: (result: DecideRetrainResult, seconds: number) => void,
  runs: DataPipelineRuns,
  readyToRequested: (readyAt: number | null) => void,
) {
  return defineHandler({
    event: masterVersioned,
    task: 'retrain_decision',
    runFields: (master) => ({ dataset_version: `${master.dataset}@${master.master_version}` }),
    async handle(master, ctx) {
      const started = performance.now();
      let decided = false;
      await decideRetrain(master, { runId: ctx.runId, signal: ctx.signal }, deps, (result) => {
        if (result.created) {
          decided = true;
          if (result.decision.requested) readyToRequested(master.ready_at);
        }
        observe(result, (performance.now() - started) / 1000);
      });
      if (decided) runs.end('success', master.ready_at ?? master.occurred_at);
    },
    onDeadLettered: (_err, master) =>
      runs.end('failed', master?.ready_at ?? master?.occurred_at ?? Date.now()),
  });
}
