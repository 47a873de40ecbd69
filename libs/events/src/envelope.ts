import { randomUUID } from 'node:crypto';

/** A fresh, unique event id. */
export function newEventId(): string {
  return randomUUID();
}

/** `occurred_at` of an event: epoch milliseconds (Avro timestamp-millis). */
export function eventTime(date: Date = new Date()): number {
  return date.getTime();
}
