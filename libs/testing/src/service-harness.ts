import type { EventDefinition, EventRegistry } from '@tributary/events';
import type { Pool } from '@tributary/db';
import { collectMessages, testKafka, type CollectedMessage } from './kafka.ts';
import {
  waitForCaughtUp,
  waitForSettled,
  type AnnouncingRunner,
  type AnnouncingWorker,
  type ConsumerGroup,
} from './instrumentation.ts';
import { waitFor } from './wait.ts';

/** Reads an event's topic from the beginning, decoding each message with the event's schema. */
export class EventReader<T> {
  private readonly collector: Awaited<ReturnType<typeof collectMessages>>;
  private readonly def: EventDefinition<T>;
  private readonly registry: EventRegistry;
  private constructor(
    collector: Awaited<ReturnType<typeof collectMessages>>,
    def: EventDefinition<T>,
    registry: EventRegistry,
  ) {
    this.collector = collector;
    this.def = def;
    this.registry = registry;
  }

  /** Opens a reader of `def`'s topic under `prefix` (a test's own topics). */
  static async open<T>(
    registry: EventRegistry,
    prefix: string,
    def: EventDefinition<T>,
  ): Promise<EventReader<T>> {
    return new EventReader(await collectMessages(testKafka(), `${prefix}${def.topic}`), def, registry);
  }

  /** The messages as read, undecoded (headers, keys). */
  get raw(): CollectedMessage[] {
    return this.collector.messages;
  }

  values(): Promise<T[]> {
    return Promise.all(this.collector.messages.map((m) => this.registry.decode(this.def, m.value!)));
  }

  /** Waits until a decoded message satisfies `match`, and returns it. */
  waitFor(match: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
    return waitFor(async () => (await this.values()).find(match), {
      timeoutMs,
      intervalMs: 100,
      what: `a matching message on ${this.def.topic}`,
    });
  }

  /** Waits until `n` messages were read; returns them decoded. */
  async waitForCount(n: number, timeoutMs = 60_000): Promise<T[]> {
    await this.collector.waitForMessages(n, timeoutMs);
    return this.values();
  }

  /** Waits until every message the topic holds now was read. */
  async readToEnd(): Promise<void> {
    await this.collector.waitForEnd();
  }

  async count(match: (value: T) => boolean): Promise<number> {
    return (await this.values()).filter(match).length;
  }

  stop(): Promise<void> {
    return this.collector.stop();
  }
}

/**
 * Waits until services under test have done everything their input asked for: each one's runner
 * handled every event so far and each polling worker finished a round since (`waitForSettled`),
 * each consumer group of a service run as a process committed past every event so far, the outbox
 * of `pool`'s schema holds nothing unpublished, and every reader read its topic to the end. A
 * duplicate event, run or message would now be visible.
 */
export async function settleServices(opts: {
  apps?: readonly { runner: AnnouncingRunner; workers: readonly AnnouncingWorker[] }[];
  /**
   * Consumer groups of services run as child processes (no runner here to listen to). Their outbox
   * relay announces nothing either: `pool` then says when what they wrote was published.
   */
  groups?: readonly ConsumerGroup[];
  /** The services' database pool, when they relay events through an outbox. */
  pool?: Pick<Pool, 'query'>;
  /** Readers of the topics they write: `EventReader`s or `collectMessages` collectors. */
  readers?: readonly ({ readToEnd(): Promise<void> } | { waitForEnd(): Promise<unknown> })[];
}): Promise<void> {
  for (const app of opts.apps ?? []) await waitForSettled(app);
  for (const group of opts.groups ?? []) await waitForCaughtUp(group);
  const pool = opts.pool;
  if (pool) {
    await waitFor(
      async () => {
        const { rows } = await pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
        );
        return rows[0]!.n === 0 ? true : undefined;
      },
      { what: 'outbox published' },
    );
  }
  await Promise.all((opts.readers ?? []).map((r) => ('readToEnd' in r ? r.readToEnd() : r.waitForEnd())));
}
