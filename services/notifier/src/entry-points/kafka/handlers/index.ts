import type { AnyEventHandler } from '@tributary/kafka';
import type { HandlersOf } from '@tributary/runtime';
import type { NotifyPorts } from '../../../domain/ports.ts';
import { batchRejectedHandler } from './batch-rejected.handler.ts';
import { datasetPublishedHandler } from './dataset-published.handler.ts';
import { deadLetterHandler } from './dead-letter.handler.ts';
import { qualityEvaluatedHandler } from './quality-evaluated.handler.ts';
import type { manifest } from '../../../manifest.ts';

/** One handler per event the manifest consumes, in its order; each calls a use case in domain/. */
export function handlers(
  ports: NotifyPorts,
  deadLetterServices: readonly string[],
): [...HandlersOf<typeof manifest>, ...AnyEventHandler[]] {
  return [
    datasetPublishedHandler(ports),
    qualityEvaluatedHandler(ports),
    batchRejectedHandler(ports),
    ...deadLetterServices.map((service) => deadLetterHandler(service, ports)),
  ];
}
