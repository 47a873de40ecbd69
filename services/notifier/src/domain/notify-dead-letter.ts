import type { DeadLetter } from '@tributary/events';
import { withTask } from '@tributary/telemetry';
import { claimOnce } from './delivery.ts';
import type { NotifyPorts } from './ports.ts';
import { deadLetterMessage } from './renderers.ts';

/**
 * Tells the operators' channel that a service gave up on a message: which service, what it was
 * reading, the error, and how to look at it and replay it once the cause is fixed. Sent once per
 * dead letter (keyed by its event id), whatever the redeliveries.
 */
export async function notifyDeadLetter(
  deadLetter: DeadLetter,
  where: { topic: string; partition: number; offset: string },
  ports: NotifyPorts,
): Promise<boolean> {
  return withTask(
    'notify_dead_letter',
    { service: deadLetter.service, error_code: deadLetter.error_code },
    () =>
      claimOnce(
        ports,
        'ops-slack',
        `dead-letter/${deadLetter.service}/${deadLetter.event_id}`,
        deadLetterMessage(deadLetter, where),
      ),
  );
}
