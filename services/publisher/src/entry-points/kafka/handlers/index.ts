import type { HandlersOf } from '@tributary/runtime';
import type { PublishDeps, PublishResult } from '../../../domain/publish-dataset.ts';
import { qualityEvaluatedHandler } from './quality-evaluated.handler.ts';
import type { manifest } from '../../../manifest.ts';

/** One handler per event the manifest consumes, in its order; each calls a use case in domain/. */
export function handlers(
  deps: PublishDeps,
  observe: (result: PublishResult) => void,
): HandlersOf<typeof manifest> {
  return [qualityEvaluatedHandler(deps, observe)];
}
