import type { EventHandler } from '@tributary/kafka';
import type { PublishDeps, PublishResult } from '../../../domain/publish-dataset.ts';
import { qualityEvaluatedHandler } from './quality-evaluated.handler.ts';

/** One handler per consumed event; each calls a use case in domain/. */
export function handlers(
  deps: PublishDeps,
  observe: (result: PublishResult) => void,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers of different events share one list
): EventHandler<any>[] {
  return [qualityEvaluatedHandler(deps, observe)];
}
