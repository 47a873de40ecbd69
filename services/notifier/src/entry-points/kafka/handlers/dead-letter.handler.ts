import { deadLetterEvent } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import { notifyDeadLetter } from '../../../domain/notify-dead-letter.ts';
import type { NotifyPorts } from '../../../domain/ports.ts';

/** Tells the operators when `service` gave up on a message (its dead-letter topic). */
export function deadLetterHandler(service: string, ports: NotifyPorts) {
  return defineHandler({
    event: deadLetterEvent(service),
    async handle(deadLetter, ctx) {
      await notifyDeadLetter(deadLetter, ctx, ports);
    },
  });
}
