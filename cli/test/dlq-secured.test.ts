/**
 * `tributary dlq` against a secured Kafka (scripts/secure-stack.sh: SASL_SSL, SCRAM-SHA-512, its own
 * CA), with the services' own settings: it lists and replays dead letters there, and a wrong
 * password, an untrusted CA or a mechanism without its password ends it with exit 1 and the
 * services' message naming the setting. The secured Kafka is started when it is not running.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchIngested, EventRegistry } from '@tributary/events';
import { batchIngestedFixture } from '@tributary/events/fixtures';
import { DeadLetterPublisher, EventProducer, ensureTopics, readTopic, type Kafka } from '@tributary/kafka';
import { createSecuredKafka } from '@tributary/kafka/connection';
import { createLogger } from '@tributary/telemetry';
import {
  runTributary,
  stackEnv,
  uniqueName,
  untrustedCaFile,
  useSecureStack,
  type SecureStack,
} from '@tributary/testing';
import { kafkaSettings } from '../src/kafka-connection.ts';

type AppErrorLike = Parameters<DeadLetterPublisher['publish']>[0]['error'];

const KAFKA_SETTINGS = [
  'KAFKA_BROKERS',
  'KAFKA_SSL',
  'KAFKA_SSL_CA_FILE',
  'KAFKA_SASL_MECHANISM',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
] as const;

let stack: SecureStack | undefined;
let kafka: Kafka;
let producer: EventProducer | undefined;
let secured: Record<(typeof KAFKA_SETTINGS)[number], string>;
let work: string;
const prefix = `${uniqueName('t_cli_dlq_tls')}.`;
const sourceTopic = `${prefix}batch.ingested`;
const dlqTopic = `${prefix}dlq.preprocessor`;

/** `tributary dlq …` with the secured Kafka's settings (as `eval "$(scripts/secure-stack.sh env)"` sets them). */
const tributary = (args: string[], override: Record<string, string> = {}) =>
  runTributary(['dlq', ...args], {
    ...secured,
    SCHEMA_REGISTRY_URL: stackEnv.SCHEMA_REGISTRY_URL, // the stack's plain registry
    TOPIC_PREFIX: prefix,
    ...override,
  });

beforeAll(async () => {
  stack = await useSecureStack(['kafka']);
  secured = Object.fromEntries(KAFKA_SETTINGS.map((k) => [k, stack!.settings[k]])) as typeof secured;
  kafka = createSecuredKafka(kafkaSettings(undefined, secured), {
    clientId: 'dlq-secured-test',
    logger: createLogger({ serviceName: 'dlq-secured-test', level: 'silent' }),
  });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [
    { topic: sourceTopic, numPartitions: 1, replicationFactor: 1 },
    { topic: dlqTopic, numPartitions: 1, replicationFactor: 1 },
  ]);
  await admin.disconnect();
  const registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });
  producer = new EventProducer(kafka, registry, prefix);
  await producer.connect();

  // A batch.ingested on the secured cluster, dead-lettered by the real publisher as a consumer would.
  const event = { ...batchIngestedFixture, event_id: randomUUID(), batch_id: uniqueName('secured-batch') };
  await producer.publish(batchIngested, event);
  const [original] = await readTopic(kafka, sourceTopic);
  const error = (() => {
    try {
      batchIngested.validate({});
    } catch (err) {
      return err as AppErrorLike;
    }
  })();
  await new DeadLetterPublisher(producer, 'preprocessor').publish({
    service: 'preprocessor',
    groupId: `${prefix}preprocessor`,
    topic: sourceTopic,
    partition: original!.partition,
    message: original!.message,
    error: error!,
    attempts: 4,
    firstFailedAt: Date.now() - 5000,
    runId: '0af7651916cd43dd8448eb211c80319c',
  });

  work = mkdtempSync(join(tmpdir(), 'tributary-dlq-tls-'));
}, 180_000);

afterAll(async () => {
  await producer?.disconnect();
  if (kafka) {
    const admin = kafka.admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    await admin.disconnect();
  }
  if (work) rmSync(work, { recursive: true, force: true });
}, 90_000);

describe('tributary dlq over a secured Kafka', () => {
  it('when the services’ TLS and SASL settings are set, then the dead letters are listed and replayed there', async () => {
    const list = await tributary(['list', '--service', 'preprocessor']);
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`1 dead letter(s) on ${dlqTopic}`);
    expect(list.stdout).toContain('error      EVT_ERR_INVALID: Invalid batch.ingested event');

    const replay = await tributary(['replay', '--service', 'preprocessor', '--all']);
    expect(replay.stderr).toBe('');
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(new RegExp(`^replayed ${dlqTopic.replace(/\./g, '\\.')} 0:0 → `, 'm'));
    const records = await readTopic(kafka, sourceTopic);
    expect(records).toHaveLength(2);
    expect(records[1]!.message.headers?.['dlq-replay-of']?.toString()).toBe(`${dlqTopic}/0:0`);
  });

  it('when the SASL password is wrong, then it stops with exit 1 naming the settings', async () => {
    const run = await tributary(['list', '--service', 'preprocessor'], {
      KAFKA_SASL_PASSWORD: 'not-the-password',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^tributary: Kafka: SASL authentication failed for user tributary \(.*\); check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM$/m,
    );
  });

  it('when the brokers’ certificate does not chain to KAFKA_SSL_CA_FILE, then it stops with exit 1 naming the setting', async () => {
    const untrustedCa = untrustedCaFile(work);
    const run = await tributary(['list', '--service', 'preprocessor'], { KAFKA_SSL_CA_FILE: untrustedCa });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^tributary: Kafka: certificate not trusted \(127\.0\.0\.1:\d+: self-signed certificate in certificate chain\); check KAFKA_SSL_CA_FILE$/m,
    );
  });

  it('when a SASL mechanism comes without its password, then it refuses before connecting, naming the setting', async () => {
    const run = await tributary(['list', '--service', 'preprocessor'], { KAFKA_SASL_PASSWORD: '' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('KAFKA_SASL_PASSWORD: required with KAFKA_SASL_MECHANISM=scram-sha-512');
  });
});
