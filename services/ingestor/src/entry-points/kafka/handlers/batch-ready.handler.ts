import { batchReady } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import type { Counter } from '@tributary/telemetry';
import { ingestBatch, type IngestDeps } from '../../../domain/ingest-batch.ts';

/** batch.ready → ingest. Rejections are normal returns; only infrastructure failures throw (and are retried). */
export function batchReadyHandler(deps: IngestDeps, outcomes: Counter<'outcome' | 'error_code'>) {
  return defineHandler({
    event: batchReady,
    async handle(value, ctx) {
      const outcome = await ingestBatch(deps, value, { runId: ctx.runId, log: ctx.log });
      outcomes.inc({
        outcome: outcome.kind,
        error_code: outcome.kind === 'rejected' ? outcome.errorCode : '',
      });
    },
  });
}
