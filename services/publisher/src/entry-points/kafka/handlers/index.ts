import type { DefinedJob } from '@tributary/jobs';
import type { EventHandler } from '@tributary/kafka';
import type { PublishRetry } from '../../jobs/publish-retry.job.ts';
import { qualityEvaluatedHandler } from './quality-evaluated.handler.ts';

/** One handler per consumed event; each calls a use case in domain/. */
export function handlers(
  publish: DefinedJob<PublishRetry>,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers of different events share one list
): EventHandler<any>[] {
  return [qualityEvaluatedHandler(publish)];
}
