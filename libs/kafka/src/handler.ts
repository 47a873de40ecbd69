import type { AppError } from '@tributary/errors';
import type { EventDefinition } from '@tributary/events';
import type { Logger, RunFields } from '@tributary/telemetry';

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
  /** The seed task it runs (ingest, validate, retrain_decision, ...): `task_id` of its log lines; else the event name. */
  readonly task?: string;
  /** Run fields known from the event (e.g. `dataset_version`), on every log line of its handling. */
  runFields?(value: T): RunFields;
  handle(value: T, ctx: MessageContext): Promise<void>;
  /** The message was dead-lettered after its attempts (the event when it could be decoded): its run ends failed here. */
  onDeadLettered?(error: AppError, value: T | undefined): void;
}

/**
 * A handler of some event, in a list with handlers of other events. No cast is needed to put one
 * there: `defineHandler` ties each handler's value type to its event, and the runner gives it only
 * values its event's schema validated.
 */
export type AnyEventHandler = EventHandler<unknown>;

/** Identity helper that ties the handler's value type to its event definition. */
export function defineHandler<T>(handler: EventHandler<T>): EventHandler<T> {
  return handler;
}
