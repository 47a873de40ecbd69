import { qualityEvaluated } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import { notifyGateOutcome } from '../../../domain/notify-gate-outcome.ts';
import type { NotifyPorts } from '../../../domain/ports.ts';

/**
 * On a failed gate or run: pages the on-call of the declaring dataset first, then tells its
 * evaluation leads (a failed gate only).
 */
export function qualityEvaluatedHandler(ports: NotifyPorts) {
  return defineHandler({
    event: qualityEvaluated,
    handle: (evaluated) => notifyGateOutcome(evaluated, ports),
  });
}
