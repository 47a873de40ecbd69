import type { EventHandler } from '@tributary/kafka';
import type { DecideRetrainDeps, DecideRetrainResult } from '../../../domain/decide-retrain.ts';
import { masterVersionedHandler } from './master-versioned.handler.ts';

/** One handler per consumed event; each calls a use case in domain/. */
export function handlers(
  deps: DecideRetrainDeps,
  observe: (result: DecideRetrainResult, seconds: number) => void,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers of different events share one list
): EventHandler<any>[] {
  return [masterVersionedHandler(deps, observe)];
}
