/**
 * `tributary dlq` against the real Kafka and schema registry: dead letters are written by the
 * real dead-letter publisher of @tributary/kafka (as the consumer runner does), then listed and
 * replayed through the CLI run as a child process, as an operator runs it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka, KafkaMessage } from 'kafkajs';
import {
  batchIngested,
  deadLetterEvent,
  EventRegistry,
  prefixEvent,
  type BatchIngested,
} from '@tributary/events';
import { batchIngestedFixture } from '@tributary/events/fixtures';
import { DeadLetterPublisher, EventProducer, ensureTopics, readTopic } from '@tributary/kafka';
import { runTributary, stackEnv, testKafka, uniqueName } from '@tributary/testing';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

type AppErrorLike = Parameters<DeadLetterPublisher['publish']>[0]['error'];

let kafka: Kafka;
let registry: EventRegistry;
let producer: EventProducer;
let prefix = '';
let sourceTopic = '';
let dlqTopic = '';
let event: BatchIngested;
/** The dead letter of a decodable batch.ingested and of a message with garbage bytes. */
let good: { dlq: string; original: KafkaMessage; partition: number };
let garbage: { dlq: string; original: KafkaMessage; partition: number };

/** `tributary dlq …` as an operator runs it, on this test's topics. */
const tributary = (args: string[]) =>
  runTributary(['dlq', ...args], {
    KAFKA_BROKERS: stackEnv.KAFKA_BROKERS,
    SCHEMA_REGISTRY_URL: stackEnv.SCHEMA_REGISTRY_URL,
    TOPIC_PREFIX: prefix,
  });

function header(message: KafkaMessage, key: string): string | undefined {
  const v = message.headers?.[key];
  return (Array.isArray(v) ? v[0] : v)?.toString();
}

/** Records of the source topic that are replays (they carry the replay header). */
async function replays(): Promise<KafkaMessage[]> {
  const records = await readTopic(kafka, sourceTopic);
  return records.map((r) => r.message).filter((m) => header(m, 'dlq-replay-of') !== undefined);
}

beforeAll(async () => {
  kafka = testKafka();
  prefix = `${uniqueName('t_cli_dlq')}.`;
  sourceTopic = `${prefix}batch.ingested`;
  dlqTopic = `${prefix}dlq.preprocessor`;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [
    { topic: sourceTopic, numPartitions: 3, replicationFactor: 1 },
    { topic: dlqTopic, numPartitions: 2, replicationFactor: 1 },
  ]);
  await admin.disconnect();
  registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });
  producer = new EventProducer(kafka, registry, prefix);
  await producer.connect();

  // Two messages on the source topic: a real batch.ingested with a trace, and bytes no registry knows.
  event = { ...batchIngestedFixture, event_id: randomUUID(), batch_id: uniqueName('penguins-batch') };
  await producer.publish(batchIngested, event, { headers: { traceparent: TRACEPARENT } });
  await producer.sendRaw(sourceTopic, [
    { key: 'garbage-key', value: Buffer.from('not avro at all'), headers: { traceparent: TRACEPARENT } },
  ]);
  const originals = await readTopic(kafka, sourceTopic);
  expect(originals).toHaveLength(2);
  const byKey = (k: string) => originals.find((r) => r.message.key?.toString() === k)!;

  // Dead-letter both with the real publisher, with the errors a consumer would have met.
  const deadLetters = new DeadLetterPublisher(producer, 'preprocessor');
  const decodeError = await registry
    .decode(batchIngested, byKey('garbage-key').message.value!)
    .then(() => undefined)
    .catch((err: unknown) => err as AppErrorLike);
  const invalidError = (() => {
    try {
      batchIngested.validate({});
    } catch (err) {
      return err as AppErrorLike;
    }
  })();
  for (const [k, error] of [
    ['penguins', invalidError],
    ['garbage-key', decodeError],
  ] as const) {
    const { partition, message } = byKey(k);
    await deadLetters.publish({
      service: 'preprocessor',
      groupId: `${prefix}preprocessor`,
      topic: sourceTopic,
      partition,
      message,
      error: error!,
      attempts: 4,
      firstFailedAt: Date.now() - 5000,
      runId: '0af7651916cd43dd8448eb211c80319c',
    });
  }

  // Where each dead letter landed on the DLQ topic.
  const def = prefixEvent(deadLetterEvent('preprocessor'), prefix);
  for (const { partition, message } of await readTopic(kafka, dlqTopic)) {
    const letter = await registry.decode(def, message.value!);
    const entry = {
      dlq: `${partition}:${message.offset}`,
      original: byKey(letter.key!.toString()).message,
      partition: letter.source_partition,
    };
    if (letter.key!.toString() === 'penguins') good = entry;
    else garbage = entry;
  }
  expect(good).toBeDefined();
  expect(garbage).toBeDefined();
});

afterAll(async () => {
  await producer?.disconnect();
});

describe('tributary dlq', () => {
  it('when the dead letters are listed, then each shows its place, the original, the error and the decoded ids', async () => {
    const { code, stdout, stderr } = await tributary(['list', '--service', 'preprocessor']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`2 dead letter(s) on ${dlqTopic}`);
    expect(stdout).toContain(`${dlqTopic} ${good.dlq}`);
    expect(stdout).toContain(`original   ${sourceTopic} ${good.partition}:${good.original.offset}`);
    expect(stdout).toContain(`event ${event.event_id}`);
    expect(stdout).toContain('error      EVT_ERR_INVALID: Invalid batch.ingested event');
    expect(stdout).toContain(`event      batch.ingested dataset=penguins batch_id=${event.batch_id}`);
    // The garbage message is listed with its decode failure, not a crash.
    expect(stdout).toContain(`${dlqTopic} ${garbage.dlq}`);
    expect(stdout).toContain('error      EVT_ERR_DECODE');
    expect(stdout).toMatch(/decode {5}failed: .*batch\.ingested/);
  });

  it('when listed as JSON with a limit, then at most that many records come with their fields', async () => {
    const { code, stdout } = await tributary(['list', '--service', 'preprocessor', '--json', '--limit', '1']);
    expect(code).toBe(0);
    const records = JSON.parse(stdout) as {
      dlq: { partition: number; offset: string };
      source: { topic: string };
      error: { code: string; attempts: number };
      first_failed_at: string;
    }[];
    expect(records).toHaveLength(1);
    expect(records[0]!.source.topic).toBe(sourceTopic);
    expect(records[0]!.error.attempts).toBe(4);
    expect(Date.parse(records[0]!.first_failed_at)).toBeGreaterThan(0);
  });

  it('when a replay is a dry run, then it says what it would replay and publishes nothing', async () => {
    const { code, stdout } = await tributary([
      'replay',
      '--service',
      'preprocessor',
      '--offset',
      good.dlq,
      '--dry-run',
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain(`would replay ${dlqTopic} ${good.dlq} → ${sourceTopic}`);
    expect(await readTopic(kafka, sourceTopic)).toHaveLength(2);
  });

  it('when a dead letter is replayed, then the original bytes, key and traceparent are back on the original topic', async () => {
    const { code, stdout, stderr } = await tributary([
      'replay',
      '--service',
      'preprocessor',
      '--offset',
      good.dlq,
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(
      new RegExp(`^replayed ${dlqTopic} ${good.dlq} → ${sourceTopic} ${good.partition}:\\d+$`, 'm'),
    );
    const [replayed, ...more] = await replays();
    expect(more).toHaveLength(0);
    expect(replayed!.value!.equals(good.original.value!)).toBe(true);
    expect(replayed!.key!.equals(good.original.key!)).toBe(true);
    expect(header(replayed!, 'traceparent')).toBe(TRACEPARENT);
    expect(header(replayed!, 'event-id')).toBe(event.event_id);
    expect(header(replayed!, 'dlq-replay-of')).toBe(`${dlqTopic}/${good.dlq}`);
    // The replay is in the same partition, so per-dataset order holds.
    const records = await readTopic(kafka, sourceTopic);
    expect(
      records.find((r) => r.message.offset === replayed!.offset && r.partition === good.partition),
    ).toBeDefined();
  });

  it('when the same dead letter is replayed again, then it is refused unless --force', async () => {
    const refused = await tributary(['replay', '--service', 'preprocessor', '--offset', good.dlq]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`dead letter ${good.dlq} was already replayed`);
    expect(refused.stderr).toContain('--force');
    expect(await replays()).toHaveLength(1);

    const forced = await tributary(['replay', '--service', 'preprocessor', '--offset', good.dlq, '--force']);
    expect(forced.code).toBe(0);
    expect(await replays()).toHaveLength(2);

    const { stdout } = await tributary(['list', '--service', 'preprocessor']);
    expect(stdout.match(/ {2}replayed {3}/g)).toHaveLength(2);
  });

  it('when --all is a dry run, then replayed dead letters are skipped and the others would be replayed', async () => {
    const { code, stdout } = await tributary(['replay', '--service', 'preprocessor', '--all', '--dry-run']);
    expect(code).toBe(0);
    expect(stdout).toContain(`skipped ${dlqTopic} ${good.dlq}: already replayed`);
    expect(stdout).toContain(`would replay ${dlqTopic} ${garbage.dlq} → ${sourceTopic}`);
    expect(await replays()).toHaveLength(2);
  });

  it('when the input is bad, then the error names the problem', async () => {
    const unknown = await tributary(['list', '--service', 'preprocesor']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      'unknown service "preprocesor": expected one of ingestor, notifier, preprocessor, publisher, quality-gate, retrain-policy',
    );

    const malformed = await tributary(['replay', '--service', 'preprocessor', '--offset', '3-17']);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('malformed --offset "3-17": expected <partition>:<offset>');

    const missing = await tributary(['replay', '--service', 'preprocessor', '--offset', '1:999']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no such record: no dead letter at 1:999 on ${dlqTopic}`);

    const both = await tributary(['replay', '--service', 'preprocessor', '--offset', good.dlq, '--all']);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('give either --offset or --all, not both');
    expect(await replays()).toHaveLength(2);
  });
});
