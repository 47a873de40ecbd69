import type { EventHandler } from '@tributary/kafka';
import type { ProcessBatch } from '../../../domain/process-batch.ts';
import { batchIngestedHandler } from './batch-ingested.handler.ts';

/** One handler per consumed event; each calls a use case in domain/. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers of different events share one list
export function handlers(deps: { processBatch: ProcessBatch }): EventHandler<any>[] {
  return [batchIngestedHandler(deps.processBatch)];
}
