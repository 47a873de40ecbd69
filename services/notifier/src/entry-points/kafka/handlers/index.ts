import type { EventHandler } from '@tributary/kafka';
import type { NotifyPorts } from '../../../domain/ports.ts';
import { batchRejectedHandler } from './batch-rejected.handler.ts';
import { datasetPublishedHandler } from './dataset-published.handler.ts';
import { deadLetterHandler } from './dead-letter.handler.ts';
import { qualityEvaluatedHandler } from './quality-evaluated.handler.ts';

/** One handler per consumed event; each calls a use case in domain/. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers of different events share one list
export function handlers(ports: NotifyPorts, deadLetterServices: readonly string[]): EventHandler<any>[] {
  return [
    datasetPublishedHandler(ports),
    qualityEvaluatedHandler(ports),
    batchRejectedHandler(ports),
    ...deadLetterServices.map((service) => deadLetterHandler(service, ports)),
  ];
}
