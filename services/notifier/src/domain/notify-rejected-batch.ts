import type { BatchRejected } from '@tributary/events';
import { withTask } from '@tributary/telemetry';
import { claimOnce } from './delivery.ts';
import type { NotifyPorts } from './ports.ts';
import { rejectionMessage } from './renderers.ts';

/**
 * Tells the data producers' channel that a batch was rejected, or that some of its rows were
 * quarantined: which batch, at which stage, why, and where the report of the bad rows is. Sent once
 * per rejection event; nothing when no producers' channel is configured.
 */
export async function notifyRejectedBatch(rejected: BatchRejected, ports: NotifyPorts): Promise<boolean> {
  if (!ports.producersSlack) return false;
  return withTask(
    'notify_rejected_batch',
    { dataset: rejected.dataset, batch_id: rejected.batch_id, error_code: rejected.error_code },
    () =>
      claimOnce(ports, 'producers-slack', `batch-rejected/${rejected.event_id}`, rejectionMessage(rejected)),
  );
}
