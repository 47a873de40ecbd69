import { masterVersioned } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import {
  decideRetrain,
  type DecideRetrainDeps,
  type DecideRetrainResult,
} from '../../../domain/decide-retrain.ts';

/**
 * Decides, for each new master version, whether the production model of each model its dataset
 * drives must be retrained; each decision is observed as it is made.
 */
export function masterVersionedHandler(
  deps: DecideRetrainDeps,
  observe: (result: DecideRetrainResult, seconds: number) => void,
) {
  return defineHandler({
    event: masterVersioned,
    async handle(master, ctx) {
      const started = performance.now();
      await decideRetrain(master, { runId: ctx.runId, signal: ctx.signal }, deps, (result) =>
        observe(result, (performance.now() - started) / 1000),
      );
    },
  });
}
