import type { DefinedJob } from '@tributary/jobs';
import type { HandlersOf } from '@tributary/runtime';
import type { PublishRetry } from '../../jobs/publish-retry.job.ts';
import { qualityEvaluatedHandler } from './quality-evaluated.handler.ts';
import type { manifest } from '../../../manifest.ts';

/** One handler per event the manifest consumes, in its order; each calls a use case in domain/. */
export function handlers(publish: DefinedJob<PublishRetry>): HandlersOf<typeof manifest> {
  return [qualityEvaluatedHandler(publish)];
}
