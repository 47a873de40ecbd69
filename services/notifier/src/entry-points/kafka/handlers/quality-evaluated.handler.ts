import { qualityEvaluated } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import { pageOnGateFailure, type NotifyPorts } from '../../../domain/notify.ts';

/** Pages the ML Scientist on call (P2) when a quality gate fails. */
export function qualityEvaluatedHandler(ports: NotifyPorts) {
  return defineHandler({
    event: qualityEvaluated,
    async handle(evaluated) {
      await pageOnGateFailure(evaluated, ports);
    },
  });
}
