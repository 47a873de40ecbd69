import { batchRejected } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import { notifyRejectedBatch } from '../../../domain/notify-rejected-batch.ts';
import type { NotifyPorts } from '../../../domain/ports.ts';

/** Tells the data producers when a batch of theirs was rejected or partly quarantined. */
export function batchRejectedHandler(ports: NotifyPorts) {
  return defineHandler({
    event: batchRejected,
    async handle(rejected) {
      await notifyRejectedBatch(rejected, ports);
    },
  });
}
