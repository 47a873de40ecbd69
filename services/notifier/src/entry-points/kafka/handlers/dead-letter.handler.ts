import { deadLetterEvent } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import { notifyDeadLetter, type NotifyPorts } from '../../../domain/notify.ts';

/** Tells the operators when `service` gave up on a message (its dead-letter topic). */
export function deadLetterHandler(service: string, ports: NotifyPorts) {
  return defineHandler({
    event: deadLetterEvent(service),
    async handle(deadLetter, ctx) {
      await notifyDeadLetter(deadLetter, ctx, ports);
    },
  });
}
