import { qualityEvaluated } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import { alertLeadsOnGateFailure, pageOnGateFailure, type NotifyPorts } from '../../../domain/notify.ts';

/** On a failed gate: pages the ML Scientist on call (P2) first, then tells the evaluation leads. */
export function qualityEvaluatedHandler(ports: NotifyPorts) {
  return defineHandler({
    event: qualityEvaluated,
    async handle(evaluated) {
      await pageOnGateFailure(evaluated, ports);
      await alertLeadsOnGateFailure(evaluated, ports);
    },
  });
}
