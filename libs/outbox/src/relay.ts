import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import type { Pool, PoolClient } from 'pg';
import { prefixEvent, type EventDefinition, type EventRegistry } from '@tributary/events';
import type { EventProducer } from '@tributary/kafka';
import {
  Gauge,
  Instrumentation,
  type Logger,
  type Registry,
  type RemoveListener,
} from '@tributary/telemetry';
import { OUTBOX_CHANNEL_PREFIX } from './enqueue.ts';
import { AppError } from '@tributary/errors';

export interface OutboxRelayOptions {
  pool: Pool;
  /** Schema holding the outbox table; also names the leader lock and the message origin header. */
  schema: string;
  kafka: Kafka;
  producer: EventProducer;
  registry: EventRegistry;
  /** Events this outbox may hold, to encode each row with its topic's schema. */
  events: readonly EventDefinition<unknown>[];
  /** Namespace of the topics (see prefixEvent). */
  topicPrefix?: string;
  logger: Logger;
  metricsRegistry: Registry;
  batchSize?: number;
  /** Fallback poll interval; NOTIFY wakes the relay sooner. */
  pollMs?: number;
  /** Fault-injection seam for tests: runs between "sent to Kafka" and "marked published". */
  afterSend?: () => Promise<void>;
}

interface OutboxRow {
  id: number;
  topic: string;
  event_name: string;
  message_key: string;
  payload: unknown;
  headers: Record<string, string>;
  created_at: Date;
}

/** What the relay announces, by event name (listen with `relay.on(...)`). */
export interface RelayEvents {
  /** Rows reached Kafka and were marked published (one event per topic of a round). */
  published: { topic: string; ids: number[] };
  /**
   * One round of the loop ended: as the leader, a read of the outbox that published `published`
   * rows (0: the outbox was empty when the round began at `startedAt`); as a standby, a failed bid.
   */
  tick: { startedAt: number; leader: boolean; published: number };
}

/** Header naming the outbox row a message came from: `<schema>:<id>`. */
export const OUTBOX_ID_HEADER = 'outbox-id';

/**
 * Publishes outbox rows to Kafka in id order, each exactly once:
 * - one relay per schema is the leader (a Postgres advisory lock held by its session; if the
 *   process dies, the session ends and a standby takes over), so per-key order holds;
 * - the idempotent producer removes duplicates from its own retries;
 * - a crash between "sent" and "marked published" is repaired by the next leader, which first
 *   reads back what reached Kafka since the oldest unpublished row and marks those rows.
 */
export class OutboxRelay {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private leader: PoolClient | undefined;
  private readonly defsByName: Map<string, EventDefinition<unknown>>;
  private readonly backlog: Gauge;
  private readonly oldestAge: Gauge;
  private readonly isLeader: Gauge;
  private readonly opts: OutboxRelayOptions;
  private readonly instrumentation = new Instrumentation<RelayEvents>();

  constructor(opts: OutboxRelayOptions) {
    this.opts = opts;
    this.defsByName = new Map(opts.events.map((d) => [d.name, prefixEvent(d, opts.topicPrefix ?? '')]));
    const registers = [opts.metricsRegistry];
    this.backlog = new Gauge({ name: 'outbox_backlog', help: 'Unpublished outbox rows', registers });
    this.oldestAge = new Gauge({
      name: 'outbox_oldest_age_seconds',
      help: 'Age of the oldest unpublished outbox row',
      registers,
    });
    this.isLeader = new Gauge({
      name: 'outbox_relay_leader',
      help: '1 while this relay publishes',
      registers,
    });
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Listens to what the relay did (published, tick); returns the remover. */
  on<K extends keyof RelayEvents>(name: K, listener: (payload: RelayEvents[K]) => void): RemoveListener {
    return this.instrumentation.on(name, listener);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const startedAt = Date.now();
        if (await this.acquireLeadership()) {
          await this.reconcile();
          await this.publishWhileLeader();
        } else {
          this.instrumentation.emit('tick', { startedAt, leader: false, published: 0 });
          await this.idle(this.opts.pollMs ?? 1000);
        }
      } catch (err) {
        this.opts.logger.error({ err }, 'outbox relay failed; retrying');
        await this.idle(1000);
      } finally {
        this.releaseLeadership();
      }
    }
  }

  private async acquireLeadership(): Promise<boolean> {
    const client = await this.opts.pool.connect();
    try {
      const { rows } = await client.query<{ ok: boolean }>(
        `SELECT pg_try_advisory_lock(hashtext('tributary-outbox-relay'), hashtext($1)) AS ok`,
        [this.opts.schema],
      );
      if (!rows[0]?.ok) {
        client.release();
        return false;
      }
      await client.query(`LISTEN ${OUTBOX_CHANNEL_PREFIX}${this.opts.schema}`);
      client.on('notification', () => this.wake?.());
      // A lost session (a database restart) ends the lock: wake up so that the next query fails and
      // the loop gives up leadership, reconnects and competes for the lock again.
      client.once('error', (err) => {
        this.opts.logger.warn(
          { err },
          'outbox relay lost its database session; leading again once it is back',
        );
        this.wake?.();
      });
      this.leader = client;
      this.isLeader.set(1);
      this.opts.logger.info({ schema: this.opts.schema }, 'outbox relay is the leader');
      return true;
    } catch (err) {
      client.release(true);
      throw err;
    }
  }

  private releaseLeadership(): void {
    if (!this.leader) return;
    // Destroying the session releases the advisory lock even if an unlock query could not run.
    this.leader.removeAllListeners('notification');
    this.leader.removeAllListeners('error');
    this.leader.on('error', () => undefined);
    this.leader.release(true);
    this.leader = undefined;
    this.isLeader.set(0);
  }

  private async publishWhileLeader(): Promise<void> {
    const leader = this.leader!;
    while (!this.stopped) {
      const startedAt = Date.now();
      const { rows } = await leader.query<OutboxRow>(
        `SELECT id, topic, event_name, message_key, payload, headers, created_at
           FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1`,
        [this.opts.batchSize ?? 500],
      );
      await this.updateGauges(leader);
      if (rows.length === 0) {
        this.instrumentation.emit('tick', { startedAt, leader: true, published: 0 });
        await this.idle(this.opts.pollMs ?? 1000);
        continue;
      }
      await this.send(rows);
      await this.opts.afterSend?.();
      // Marked on the leader's own session: if it was lost, this fails and nobody double-marks.
      await leader.query(`UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])`, [
        rows.map((r) => r.id),
      ]);
      for (const [topic, ids] of this.idsByTopic(rows))
        this.instrumentation.emit('published', { topic, ids });
      this.instrumentation.emit('tick', { startedAt, leader: true, published: rows.length });
    }
  }

  private idsByTopic(rows: OutboxRow[]): Map<string, number[]> {
    const byTopic = new Map<string, number[]>();
    for (const row of rows) {
      const topic = this.defOf(row.event_name).topic;
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), row.id]);
    }
    return byTopic;
  }

  private async send(rows: OutboxRow[]): Promise<void> {
    const byTopic = new Map<string, OutboxRow[]>();
    for (const row of rows) {
      const topic = this.defOf(row.event_name).topic;
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), row]);
    }
    // Topics in the order of their first row; within a topic, id order. Per-key order only
    // matters within one topic (one partition), which this keeps.
    for (const [topic, topicRows] of byTopic) {
      const messages = await Promise.all(
        topicRows.map(async (row) => {
          const def = this.defOf(row.event_name);
          const eventId = (row.payload as { event_id?: unknown }).event_id;
          return {
            key: row.message_key,
            value: await this.opts.registry.encode(def, row.payload),
            headers: {
              ...row.headers,
              'event-name': row.event_name,
              ...(typeof eventId === 'string' ? { 'event-id': eventId } : {}),
              [OUTBOX_ID_HEADER]: `${this.opts.schema}:${row.id}`,
            },
          };
        }),
      );
      await this.opts.producer.sendRaw(topic, messages);
    }
  }

  /** Marks unpublished rows that already reached Kafka (a previous leader died before marking). */
  private async reconcile(): Promise<void> {
    const leader = this.leader!;
    const { rows } = await leader.query<{ event_name: string; oldest: Date }>(
      `SELECT event_name, min(created_at) AS oldest FROM outbox WHERE published_at IS NULL GROUP BY event_name`,
    );
    if (rows.length === 0) return;
    const seen = new Set<number>();
    for (const { event_name, oldest } of rows) {
      const topic = this.defOf(event_name).topic;
      for (const id of await this.readOutboxIds(topic, oldest.getTime() - 60_000)) seen.add(id);
    }
    if (seen.size === 0) return;
    const { rowCount } = await leader.query(
      `UPDATE outbox SET published_at = now() WHERE published_at IS NULL AND id = ANY($1::bigint[])`,
      [[...seen]],
    );
    this.opts.logger.warn({ rows: rowCount }, 'outbox rows found already published by a previous relay');
  }

  /** Outbox ids of this schema present in `topic` from `sinceMs` up to the current end. */
  private async readOutboxIds(topic: string, sinceMs: number): Promise<number[]> {
    const admin = this.opts.kafka.admin();
    await admin.connect();
    const [starts, ends] = await Promise.all([
      admin.fetchTopicOffsetsByTimestamp(topic, sinceMs),
      admin.fetchTopicOffsets(topic),
    ]).finally(() => void admin.disconnect());
    const pending = new Map<number, bigint>();
    for (const end of ends) {
      const start = starts.find((s) => s.partition === end.partition);
      if (start && BigInt(start.offset) >= 0n && BigInt(start.offset) < BigInt(end.high)) {
        pending.set(end.partition, BigInt(end.high));
      }
    }
    if (pending.size === 0) return [];
    const ids: number[] = [];
    const prefix = `${this.opts.schema}:`;
    // A short fetch wait: disconnecting waits for the fetch in flight, which would delay the takeover.
    const consumer = this.opts.kafka.consumer({
      groupId: `outbox-reconcile-${randomUUID()}`,
      maxWaitTimeInMs: 200,
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: false });
      const done = new Promise<void>((resolve) => {
        void consumer.run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const origin = message.headers?.[OUTBOX_ID_HEADER]?.toString();
            if (origin?.startsWith(prefix)) ids.push(Number(origin.slice(prefix.length)));
            const high = pending.get(partition);
            if (high !== undefined && BigInt(message.offset) + 1n >= high) pending.delete(partition);
            if (pending.size === 0) resolve();
            return Promise.resolve();
          },
        });
      });
      for (const start of starts) {
        if (pending.has(start.partition))
          consumer.seek({ topic, partition: start.partition, offset: start.offset });
      }
      await Promise.race([
        done,
        sleep(30_000).then(() => {
          throw new AppError('OUTBOX_ERR_RECONCILE', `reconcile of ${topic} timed out`);
        }),
      ]);
    } finally {
      await consumer.disconnect();
    }
    return ids;
  }

  private defOf(eventName: string): EventDefinition<unknown> {
    const def = this.defsByName.get(eventName);
    if (!def) {
      throw new AppError(
        'OUTBOX_ERR_UNKNOWN_EVENT',
        `outbox holds a ${eventName} event but the relay has no definition for it`,
      );
    }
    return def;
  }

  private async updateGauges(client: PoolClient): Promise<void> {
    const { rows } = await client.query<{ n: number; age: number | null }>(
      `SELECT count(*)::int AS n, extract(epoch FROM now() - min(created_at))::float AS age
         FROM outbox WHERE published_at IS NULL`,
    );
    this.backlog.set(rows[0]?.n ?? 0);
    this.oldestAge.set(rows[0]?.age ?? 0);
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
