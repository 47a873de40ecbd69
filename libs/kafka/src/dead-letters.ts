import { Partitioners, type IHeaders, type Kafka } from 'kafkajs';
import {
  allEvents,
  deadLetterEvent,
  deadLetterTopic,
  prefixEvent,
  type DeadLetter,
  type EventRegistry,
} from '@tributary/events';
import { readTopic, type TopicRecord } from './read-topic.ts';
import { ensureTopics } from './topics.ts';
import { AppError } from '@tributary/errors';

/** Header a replayed record carries: `<dlq topic>/<partition>:<offset>` of the dead letter it replays. */
export const REPLAY_OF_HEADER = 'dlq-replay-of';
/** Header a replayed record carries: the event id of the dead letter it replays. */
export const REPLAY_EVENT_ID_HEADER = 'dlq-replay-event-id';

/** One earlier replay of a dead letter, as recorded on the `dlq.<service>.replayed` marker topic. */
export interface ReplayMarker {
  dlq_topic: string;
  dlq_partition: number;
  dlq_offset: string;
  dlq_event_id: string;
  topic: string;
  partition: number;
  offset: string;
  replayed_at: string;
  replayed_by: string;
  forced: boolean;
}

/** What `dlq list` shows of one dead-letter record. */
export interface DeadLetterView {
  dlq: { topic: string; partition: number; offset: string; event_id: string | null };
  source: { topic: string; partition: number; offset: number } | null;
  /** The event id of the original message (its `event-id` header, else its decoded value). */
  event_id: string | null;
  key: string | null;
  consumer_group: string | null;
  run_id: string | null;
  error: { code: string; message: string; retriable: boolean; attempts: number } | null;
  first_failed_at: string | null;
  dead_lettered_at: string | null;
  /** The original event, decoded with the registry: its name and identifying fields. */
  event: { name: string; [field: string]: string | number | null } | null;
  /** Why the original value (or the dead-letter envelope itself) could not be decoded. */
  decode_error: string | null;
  /** Set when the original message was itself a replay of an earlier dead letter. */
  replay_of: string | null;
  /** Earlier replays of this dead letter. */
  replays: ReplayMarker[];
}

interface DeadLetterRecord {
  partition: number;
  offset: string;
  letter: DeadLetter | null;
  envelopeError: string | null;
}

/** Parses `<partition>:<offset>`, e.g. `0:42`. */
export function parseDlqOffset(raw: string): { partition: number; offset: string } {
  const match = /^\s*(\d+):(\d+)\s*$/.exec(raw);
  if (!match || !Number.isSafeInteger(Number(match[1])))
    throw new AppError(
      'DLQ_ERR_BAD_REQUEST',
      `malformed --offset "${raw}": expected <partition>:<offset>, e.g. 0:42`,
    );
  return { partition: Number(match[1]), offset: BigInt(match[2]!).toString() };
}

const iso = (ms: number) => new Date(ms).toISOString();
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Where the dead letters are read and replayed: the cluster, the registry and the topic prefix. */
export interface DeadLetterConnection {
  kafka: Kafka;
  registry: EventRegistry;
  topicPrefix: string;
  /** Prefix of the throw-away consumer groups that read the topics (default `tributary-dlq`). */
  groupPrefix?: string;
  /** Names the cluster in errors, e.g. its brokers. */
  clusterLabel?: string;
}

/** The dead-letter topic of one service, read and replayed over one connection. */
class DlqSession {
  readonly kafka: Kafka;
  readonly registry: EventRegistry;
  readonly dlqTopic: string;
  readonly markerTopic: string;
  readonly conn: DeadLetterConnection;
  readonly service: string;
  private readonly groupPrefix: string;

  constructor(conn: DeadLetterConnection, service: string) {
    this.conn = conn;
    this.service = service;
    this.kafka = conn.kafka;
    this.registry = conn.registry;
    this.groupPrefix = conn.groupPrefix ?? 'tributary-dlq';
    this.dlqTopic = `${conn.topicPrefix}${deadLetterTopic(service)}`;
    this.markerTopic = `${this.dlqTopic}.replayed`;
  }

  async topicExists(topic: string): Promise<boolean> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      return (await admin.listTopics()).includes(topic);
    } finally {
      await admin.disconnect();
    }
  }

  /** Every record of the dead-letter topic, its envelope decoded (a bad envelope is kept, with the error). */
  async readDeadLetters(): Promise<DeadLetterRecord[]> {
    if (!(await this.topicExists(this.dlqTopic))) {
      throw new AppError(
        'DLQ_ERR_NOT_FOUND',
        `no dead-letter topic ${this.dlqTopic} on ${this.conn.clusterLabel ?? 'the cluster'} (wrong topic prefix, or the service never ran there?)`,
      );
    }
    const def = prefixEvent(deadLetterEvent(this.service), this.conn.topicPrefix);
    const records = await readTopic(this.kafka, this.dlqTopic, { groupPrefix: this.groupPrefix });
    return Promise.all(
      records.map(async ({ partition, message }: TopicRecord): Promise<DeadLetterRecord> => {
        const base = { partition, offset: message.offset };
        if (!message.value) return { ...base, letter: null, envelopeError: 'empty dead-letter record' };
        try {
          return { ...base, letter: await this.registry.decode(def, message.value), envelopeError: null };
        } catch (err) {
          return { ...base, letter: null, envelopeError: `cannot decode the dead letter: ${errorText(err)}` };
        }
      }),
    );
  }

  /** Earlier replays, by dead-letter event id. */
  async readMarkers(): Promise<Map<string, ReplayMarker[]>> {
    const byId = new Map<string, ReplayMarker[]>();
    if (!(await this.topicExists(this.markerTopic))) return byId;
    for (const { message } of await readTopic(this.kafka, this.markerTopic, {
      groupPrefix: this.groupPrefix,
    })) {
      if (!message.value) continue;
      try {
        const marker = JSON.parse(message.value.toString('utf8')) as ReplayMarker;
        byId.set(marker.dlq_event_id, [...(byId.get(marker.dlq_event_id) ?? []), marker]);
      } catch {
        // Not a marker this command wrote; ignore it.
      }
    }
    return byId;
  }

  /** The original event decoded with the registry, or why it could not be. */
  async describeOriginal(
    letter: DeadLetter,
  ): Promise<{ event: DeadLetterView['event']; eventId: string | null; error: string | null }> {
    const def = allEvents.find((e) => `${this.conn.topicPrefix}${e.topic}` === letter.source_topic);
    if (!def)
      return { event: null, eventId: null, error: `no known event is published on ${letter.source_topic}` };
    if (!letter.value) return { event: null, eventId: null, error: 'the original message has no value' };
    try {
      const decoded = (await this.registry.decode(def, letter.value)) as Record<string, unknown>;
      const event: NonNullable<DeadLetterView['event']> = { name: def.name };
      for (const field of ['dataset', 'batch_id', 'master_version', 'dataset_version']) {
        const v = decoded[field];
        if (typeof v === 'string' || typeof v === 'number') event[field] = v;
      }
      const eventId = typeof decoded.event_id === 'string' ? decoded.event_id : null;
      return { event, eventId, error: null };
    } catch (err) {
      return { event: null, eventId: null, error: errorText(err) };
    }
  }

  async view(record: DeadLetterRecord, markers: Map<string, ReplayMarker[]>): Promise<DeadLetterView> {
    const { letter } = record;
    const dlq = {
      topic: this.dlqTopic,
      partition: record.partition,
      offset: record.offset,
      event_id: letter?.event_id ?? null,
    };
    if (!letter) {
      return {
        dlq,
        source: null,
        event_id: null,
        key: null,
        consumer_group: null,
        run_id: null,
        error: null,
        first_failed_at: null,
        dead_lettered_at: null,
        event: null,
        decode_error: record.envelopeError,
        replay_of: null,
        replays: [],
      };
    }
    const header = (key: string) =>
      letter.headers.find((h) => h.key === key)?.value?.toString('utf8') ?? null;
    const original = await this.describeOriginal(letter);
    return {
      dlq,
      source: {
        topic: letter.source_topic,
        partition: letter.source_partition,
        offset: letter.source_offset,
      },
      event_id: header('event-id') ?? original.eventId,
      key: letter.key?.toString('utf8') ?? null,
      consumer_group: letter.consumer_group,
      run_id: letter.run_id,
      error: {
        code: letter.error_code,
        message: letter.error_message,
        retriable: letter.retriable,
        attempts: letter.attempts,
      },
      first_failed_at: iso(letter.first_failed_at),
      dead_lettered_at: iso(letter.occurred_at),
      event: original.event,
      decode_error: original.error,
      replay_of: header(REPLAY_OF_HEADER),
      replays: markers.get(letter.event_id) ?? [],
    };
  }
}

/**
 * The services that have a dead-letter topic on the cluster (`<prefix>dlq.<service>`, not the
 * `.replayed` marker topics), sorted.
 */
export async function deadLetterServices(conn: DeadLetterConnection): Promise<string[]> {
  const admin = conn.kafka.admin();
  await admin.connect();
  try {
    const prefix = `${conn.topicPrefix}${deadLetterTopic('')}`;
    return (await admin.listTopics())
      .filter((t) => t.startsWith(prefix) && !t.endsWith('.replayed'))
      .map((t) => t.slice(prefix.length))
      .filter((s) => /^[a-z0-9-]+$/.test(s))
      .sort();
  } finally {
    await admin.disconnect();
  }
}

/** The dead letters of one service, oldest first per partition (reading moves no offsets). */
export async function listDeadLetters(
  conn: DeadLetterConnection,
  opts: { service: string; limit?: number | undefined },
): Promise<{ topic: string; total: number; records: DeadLetterView[] }> {
  const session = new DlqSession(conn, opts.service);
  const records = await session.readDeadLetters();
  const markers = await session.readMarkers();
  const shown = opts.limit === undefined ? records : records.slice(0, opts.limit);
  return {
    topic: session.dlqTopic,
    total: records.length,
    records: await Promise.all(shown.map((r) => session.view(r, markers))),
  };
}

export interface ReplayResult {
  dlq: { topic: string; partition: number; offset: string; event_id: string };
  topic: string;
  /** Where the replayed record landed; null on a dry run or when skipped. */
  partition: number | null;
  offset: string | null;
  status: 'replayed' | 'would-replay' | 'skipped-already-replayed';
  earlier_replays: ReplayMarker[];
}

function describeRanges(records: DeadLetterRecord[]): string {
  const byPartition = new Map<number, string[]>();
  for (const r of records) {
    const offsets = byPartition.get(r.partition);
    if (offsets) offsets.push(r.offset);
    else byPartition.set(r.partition, [r.offset]);
  }
  if (byPartition.size === 0) return 'it holds no records';
  return `it holds ${[...byPartition]
    .map(([p, offs]) => (offs.length === 1 ? `${p}:${offs[0]}` : `${p}:${offs[0]}..${offs[offs.length - 1]}`))
    .join(', ')}`;
}

/** Original headers as kafkajs takes them: repeated keys become arrays, null values stay null. */
function originalHeaders(letter: DeadLetter): IHeaders {
  const headers: Record<string, (Buffer | undefined)[]> = {};
  for (const { key, value } of letter.headers) (headers[key] ??= []).push(value ?? undefined);
  const out: IHeaders = {};
  for (const [key, values] of Object.entries(headers)) {
    out[key] = values.length === 1 ? values[0] : (values as Buffer[]);
  }
  return out;
}

export interface ReplayDeadLettersOptions {
  service: string;
  /** `<partition>:<offset>` of each dead letter to replay. */
  offset: string[];
  /** Every dead letter not replayed yet (or every one, with force). */
  all?: boolean | undefined;
  dryRun?: boolean | undefined;
  force?: boolean | undefined;
  /** Recorded on the replay marker: who replayed. */
  replayedBy: string;
}

/**
 * Re-publishes the original key, bytes and headers of dead letters to the
 * topic and partition they came from, then records each replay on `<dlq topic>.replayed`. A dead
 * letter already recorded there is refused (`--offset`) or skipped (`--all`) unless `--force`.
 */
export async function replayDeadLetters(
  conn: DeadLetterConnection,
  opts: ReplayDeadLettersOptions,
): Promise<ReplayResult[]> {
  const wanted = opts.offset.map(parseDlqOffset);
  if (opts.all && wanted.length > 0)
    throw new AppError('DLQ_ERR_BAD_REQUEST', 'give either --offset or --all, not both');
  if (!opts.all && wanted.length === 0)
    throw new AppError('DLQ_ERR_BAD_REQUEST', 'give --offset <partition:offset> (repeatable) or --all');

  const session = new DlqSession(conn, opts.service);
  const records = await session.readDeadLetters();
  const markers = await session.readMarkers();

  const selected: DeadLetterRecord[] = [];
  if (opts.all) {
    selected.push(...records.filter((r) => r.letter));
  } else {
    for (const w of wanted) {
      const record = records.find((r) => r.partition === w.partition && r.offset === w.offset);
      if (!record) {
        throw new AppError(
          'DLQ_ERR_NOT_FOUND',
          `no such record: no dead letter at ${w.partition}:${w.offset} on ${session.dlqTopic} (${describeRanges(records)})`,
        );
      }
      if (!record.letter)
        throw new AppError(
          'DLQ_ERR_NOT_REPLAYABLE',
          `dead letter ${w.partition}:${w.offset} cannot be replayed: ${record.envelopeError}`,
        );
      if (!selected.includes(record)) selected.push(record);
    }
  }

  const plan = selected.map((record) => {
    const letter = record.letter!;
    const earlier = markers.get(letter.event_id) ?? [];
    return { record, letter, earlier, skip: earlier.length > 0 && !opts.force };
  });
  if (!opts.all) {
    const refused = plan.filter((p) => p.skip);
    if (refused.length > 0) {
      throw new AppError(
        'DLQ_ERR_NOT_REPLAYABLE',
        refused
          .map(
            ({ record, earlier }) =>
              `dead letter ${record.partition}:${record.offset} was already replayed at ${earlier.at(-1)!.replayed_at} (to ${earlier.at(-1)!.topic} ${earlier.at(-1)!.partition}:${earlier.at(-1)!.offset})`,
          )
          .join('; ') + '; pass --force to replay it again',
      );
    }
  }

  const results: ReplayResult[] = [];
  const resultOf = (
    p: (typeof plan)[number],
    status: ReplayResult['status'],
    partition: number | null,
    offset: string | null,
  ): ReplayResult => ({
    dlq: {
      topic: session.dlqTopic,
      partition: p.record.partition,
      offset: p.record.offset,
      event_id: p.letter.event_id,
    },
    topic: p.letter.source_topic,
    partition,
    offset,
    status,
    earlier_replays: p.earlier,
  });
  const toSend = plan.filter((p) => !p.skip);
  for (const p of plan.filter((p) => p.skip))
    results.push(resultOf(p, 'skipped-already-replayed', null, null));
  if (opts.dryRun || toSend.length === 0) {
    for (const p of toSend) results.push(resultOf(p, 'would-replay', p.letter.source_partition, null));
    return results;
  }

  const admin = session.kafka.admin();
  await admin.connect();
  const producer = session.kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // Each record names its partition; naming the partitioner only keeps kafkajs from warning.
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  try {
    // Partitions of each target topic (a replay goes back to the partition it came from, keeping per-key order).
    const targets = [...new Set(toSend.map((p) => p.letter.source_topic))];
    const existing = new Set(await admin.listTopics());
    const missing = targets.filter((t) => !existing.has(t));
    if (missing.length > 0)
      throw new AppError(
        'DLQ_ERR_NOT_FOUND',
        `the original topic ${missing.join(', ')} does not exist any more`,
      );
    const meta = await admin.fetchTopicMetadata({ topics: [...targets, session.dlqTopic] });
    const partitions = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
    const dlqReplicas =
      meta.topics.find((t) => t.name === session.dlqTopic)?.partitions[0]?.replicas.length ?? 1;
    // One partition, compacted by dead-letter event id: the marker of every replay is kept for good.
    await ensureTopics(admin, [
      {
        topic: session.markerTopic,
        numPartitions: 1,
        replicationFactor: dlqReplicas,
        configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
      },
    ]);
    await producer.connect();
    const by = opts.replayedBy;
    for (const p of toSend) {
      const { letter, record } = p;
      const replayOf = `${session.dlqTopic}/${record.partition}:${record.offset}`;
      const partition =
        letter.source_partition < (partitions.get(letter.source_topic) ?? 0)
          ? letter.source_partition
          : undefined;
      const [sent] = await producer.send({
        topic: letter.source_topic,
        acks: -1,
        messages: [
          {
            key: letter.key,
            value: letter.value,
            ...(partition === undefined ? {} : { partition }),
            headers: {
              ...originalHeaders(letter),
              [REPLAY_OF_HEADER]: replayOf,
              [REPLAY_EVENT_ID_HEADER]: letter.event_id,
            },
          },
        ],
      });
      const marker: ReplayMarker = {
        dlq_topic: session.dlqTopic,
        dlq_partition: record.partition,
        dlq_offset: record.offset,
        dlq_event_id: letter.event_id,
        topic: letter.source_topic,
        partition: sent?.partition ?? letter.source_partition,
        offset: sent?.baseOffset ?? '?',
        replayed_at: new Date().toISOString(),
        replayed_by: by,
        forced: p.earlier.length > 0,
      };
      try {
        await producer.send({
          topic: session.markerTopic,
          acks: -1,
          messages: [
            {
              key: letter.event_id,
              value: JSON.stringify(marker),
              headers: { [REPLAY_OF_HEADER]: replayOf },
            },
          ],
        });
      } catch (err) {
        throw new AppError(
          'DLQ_ERR_MARKER_NOT_RECORDED',
          `replayed ${replayOf} to ${marker.topic} ${marker.partition}:${marker.offset} but could not record it on ${session.markerTopic} (a later replay will not be refused): ${errorText(err)}`,
        );
      }
      results.push(resultOf(p, 'replayed', marker.partition, marker.offset));
    }
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
  return results;
}
