import type { EventDefinition } from '@tributary/events';
import type { Logger } from '@tributary/telemetry';

/** What a handler knows about the message it handles, besides the decoded event. */
export interface MessageContext {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: Readonly<Record<string, string>>;
  /** Trace id of the run: carried on by every event the handler emits. */
  runId: string;
  /** 1 for the first delivery attempt in this process, 2 for the first retry, ... */
  attempt: number;
  /** Aborted when the service shuts down and the grace period is over: stop and throw. */
  signal: AbortSignal;
  log: Logger;
}

/** One thin handler per consumed event: decoded, validated input in; a use case call inside. */
export interface EventHandler<T> {
  readonly event: EventDefinition<T>;
  handle(value: T, ctx: MessageContext): Promise<void>;
}

/** Identity helper that ties the handler's value type to its event definition. */
export function defineHandler<T>(handler: EventHandler<T>): EventHandler<T> {
  return handler;
}
