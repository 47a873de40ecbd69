import type { PoolClient } from 'pg';
import type { EventDefinition } from '@tributary/events';
import { injectTraceHeaders } from '@tributary/telemetry';

/** Postgres NOTIFY channel the relay listens on, so an enqueued event leaves within milliseconds. */
export const OUTBOX_CHANNEL_PREFIX = 'tributary_outbox_';

/**
 * Adds an event to the outbox inside the caller's transaction: it is published if and only if
 * that transaction commits. The current trace context is stored with it so the relayed message
 * continues the run's trace.
 */
export async function enqueueEvent<T>(
  client: PoolClient,
  def: EventDefinition<T>,
  value: T,
  opts: { key?: string; headers?: Record<string, string> } = {},
): Promise<number> {
  def.validate(value);
  const headers = { ...injectTraceHeaders(), ...opts.headers };
  const { rows } = await client.query<{ id: number }>(
    `INSERT INTO outbox (topic, event_name, message_key, payload, headers)
     VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [def.topic, def.name, opts.key ?? def.key(value), JSON.stringify(value), JSON.stringify(headers)],
  );
  await client.query(`SELECT pg_notify($1 || current_schema(), '')`, [OUTBOX_CHANNEL_PREFIX]);
  return rows[0]!.id;
}
