import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '@tributary/errors';
import { EventRegistry, batchReady, deadLetterEvent, type BatchReady } from '@tributary/events';
import { batchReadyFixture } from '@tributary/events/fixtures';
import { createLogger, createMetrics } from '@tributary/telemetry';
import {
  collectMessages,
  serviceEnv,
  stackEnv,
  startTsProcess,
  testKafka,
  uniqueName,
  waitFor,
  waitForCaughtUp,
} from '@tributary/testing';
import { ConsumerRunner, EventProducer, createKafka, defineHandler, ensureTopics } from '../src/index.ts';

const logger = createLogger({ serviceName: 'runner-test', level: 'silent' });
const kafka = createKafka({ clientId: 'runner-test', brokers: stackEnv.KAFKA_BROKERS.split(','), logger });
const registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });

function batch(batch_id: string): BatchReady {
  return { ...batchReadyFixture, event_id: uniqueName('evt'), batch_id };
}

async function makeTopics(prefix: string, service: string) {
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [
    { topic: `${prefix}batch.ready`, numPartitions: 3, replicationFactor: 1 },
    { topic: `${prefix}dlq.${service}`, numPartitions: 1, replicationFactor: 1 },
  ]);
  await admin.disconnect();
}

describe('consumer runner', () => {
  const prefix = `${uniqueName('runner')}.`;
  const service = 'runner-test';
  const producer = new EventProducer(kafka, registry, prefix);
  const handled: string[] = [];
  const attemptsById = new Map<string, number>();
  let runner: ConsumerRunner;
  const metrics = createMetrics(service);
  let dlq: Awaited<ReturnType<typeof collectMessages>>;

  beforeAll(async () => {
    await makeTopics(prefix, service);
    await producer.connect();
    runner = new ConsumerRunner({
      kafka,
      registry,
      producer,
      service,
      groupId: uniqueName('group'),
      topicPrefix: prefix,
      logger,
      metricsRegistry: metrics.registry,
      retry: { maxRetries: 2, baseMs: 20, maxMs: 50 },
      shutdownGraceMs: 5000,
      maxWaitTimeMs: 250,
      handlers: [
        defineHandler({
          event: batchReady,
          handle(value, ctx) {
            attemptsById.set(value.batch_id, ctx.attempt);
            if (value.batch_id.startsWith('poison')) {
              return Promise.reject(
                new AppError('LOCK_ERR_TIMEOUT', 'this batch always fails', { retriable: true }),
              );
            }
            if (value.batch_id.startsWith('invalid')) {
              return Promise.reject(new AppError('EVT_ERR_INVALID', 'never retried', { retriable: false }));
            }
            if (value.batch_id.startsWith('bug')) {
              // A programmer's error, as reading a field of undefined throws it.
              return Promise.reject(new TypeError("Cannot read properties of undefined (reading 'id')"));
            }
            if (value.batch_id.startsWith('unknown')) {
              return Promise.reject(new Error('an error no code names'));
            }
            if (value.batch_id.startsWith('flaky') && ctx.attempt === 1) {
              return Promise.reject(new Error('transient failure'));
            }
            handled.push(value.batch_id);
            return Promise.resolve();
          },
        }),
      ],
    });
    await runner.start();
    dlq = await collectMessages(testKafka(), `${prefix}dlq.${service}`);
  });

  afterAll(async () => {
    await dlq.stop();
    await runner.stop();
    await producer.disconnect();
  });

  it('when a handler keeps failing, then the message is dead-lettered after its retries with the original bytes and error, and the next message is processed', async () => {
    const raw = testKafka().producer();
    await raw.connect();
    const poison = batch('poison-1');
    const encoded = await registry.encode(batchReady, poison);
    await raw.send({
      topic: `${prefix}batch.ready`,
      messages: [{ key: poison.dataset, value: encoded, headers: { a: 'b' } }],
    });
    await producer.publish(batchReady, batch('after-poison'));
    await raw.disconnect();

    const [letter] = await dlq.waitForMessages(1);
    const decoded = await registry.decode(deadLetterEvent(service), letter!.value!);
    expect(decoded).toMatchObject({
      error_code: 'LOCK_ERR_TIMEOUT',
      error_message: 'this batch always fails',
      retriable: true,
      attempts: 3,
      source_topic: `${prefix}batch.ready`,
      service,
    });
    expect(Buffer.compare(decoded.value!, encoded)).toBe(0);
    expect(decoded.headers).toContainEqual({ key: 'a', value: Buffer.from('b') });
    expect(letter!.headers['dlq-error-code']).toBe('LOCK_ERR_TIMEOUT');
    await waitFor(() => (handled.includes('after-poison') ? true : undefined), {
      what: 'next message handled',
    });
  });

  it('when a handler fails once, then the message is retried and handled once', async () => {
    await producer.publish(batchReady, batch('flaky-1'));
    await waitFor(() => (handled.includes('flaky-1') ? true : undefined));
    expect(attemptsById.get('flaky-1')).toBe(2);
    expect(handled.filter((b) => b === 'flaky-1')).toHaveLength(1);
  });

  it('when an event is handled, then its age (now - occurred_at) is observed once per message for its topic', async () => {
    // An event that occurred two minutes before it was published: a run that waited.
    await producer.publish(batchReady, { ...batch('aged-1'), occurred_at: Date.now() - 120_000 });
    await waitFor(() => (handled.includes('aged-1') ? true : undefined));
    const age = (await metrics.registry.getSingleMetric('consumer_event_age_seconds')!.get()).values;
    const bucket = (le: number) =>
      age.find(
        (v) =>
          String((v as { metricName?: string }).metricName).endsWith('_bucket') &&
          v.labels.le === le &&
          v.labels.topic === `${prefix}batch.ready`,
      )?.value ?? 0;
    // The aged event is above 60 s and within 300 s (the fixture's other events are a year old).
    expect(bucket(300) - bucket(60)).toBe(1);
  });

  it('when a handler error is not retriable, then it is dead-lettered at once', async () => {
    const before = dlq.messages.length;
    await producer.publish(batchReady, batch('invalid-1'));
    const letters = await dlq.waitForMessages(before + 1);
    const decoded = await registry.decode(deadLetterEvent(service), letters[before]!.value!);
    expect(decoded).toMatchObject({ error_code: 'EVT_ERR_INVALID', attempts: 1, retriable: false });
  });

  it('when a handler throws a programmer error (TypeError), then it is not retried: dead-lettered at once as APP_ERR_PROGRAMMER', async () => {
    const before = dlq.messages.length;
    await producer.publish(batchReady, batch('bug-1'));
    const letters = await dlq.waitForMessages(before + 1);
    const decoded = await registry.decode(deadLetterEvent(service), letters[before]!.value!);
    expect(decoded).toMatchObject({ error_code: 'APP_ERR_PROGRAMMER', attempts: 1, retriable: false });
    expect(attemptsById.get('bug-1')).toBe(1);
  });

  it('when a handler keeps throwing an unknown error, then it is retried a bounded number of times, then dead-lettered', async () => {
    const before = dlq.messages.length;
    await producer.publish(batchReady, batch('unknown-1'));
    const letters = await dlq.waitForMessages(before + 1);
    const decoded = await registry.decode(deadLetterEvent(service), letters[before]!.value!);
    // maxRetries 2: the first attempt and two retries.
    expect(decoded).toMatchObject({ error_code: 'APP_ERR_UNEXPECTED', attempts: 3, retriable: true });
    expect(attemptsById.get('unknown-1')).toBe(3);
  });

  it('when a message is handled and the next dead-lettered, then the runner announces each, then the commit past both', async () => {
    const log: string[] = [];
    const removers = [
      runner.on(runner.events.HANDLED, (e) => log.push(`handled ${e.partition}:${e.offset} x${e.attempts}`)),
      runner.on(runner.events.DEAD_LETTERED, (e) =>
        log.push(`dead_lettered ${e.partition}:${e.offset} ${e.code}`),
      ),
      runner.on(runner.events.COMMITTED, (e) => log.push(`committed ${e.partition}:${e.offset}`)),
    ];
    try {
      // One key, so one partition and consecutive offsets.
      await producer.publish(batchReady, batch('announced-1'));
      await producer.publish(batchReady, batch('invalid-announced'));
      const letter = await waitFor(() => log.find((l) => l.startsWith('dead_lettered')), {
        what: 'dead_lettered announced',
      });
      const [partition, offset] = letter.split(' ')[1]!.split(':').map(Number) as [number, number];
      expect(letter).toBe(`dead_lettered ${partition}:${offset} EVT_ERR_INVALID`);
      await waitFor(() => (log.includes(`committed ${partition}:${offset + 1}`) ? true : undefined), {
        what: 'commit past the dead letter',
      });
      const at = (entry: string) => log.indexOf(entry);
      expect(at(`handled ${partition}:${offset - 1} x1`)).toBeGreaterThanOrEqual(0);
      expect(at(`handled ${partition}:${offset - 1} x1`)).toBeLessThan(at(letter));
      expect(at(letter)).toBeLessThan(at(`committed ${partition}:${offset + 1}`));
    } finally {
      for (const remove of removers) remove();
    }
  });

  it('when a message is not Avro at all or names an unknown schema, then it is dead-lettered and the consumer goes on', async () => {
    const before = dlq.messages.length;
    const raw = testKafka().producer();
    await raw.connect();
    await raw.send({
      topic: `${prefix}batch.ready`,
      messages: [
        { key: 'penguins', value: Buffer.from('not avro') },
        { key: 'penguins', value: Buffer.from([0, 0x7f, 0, 0, 1, 2]) },
      ],
    });
    await raw.disconnect();
    await producer.publish(batchReady, batch('after-garbage'));
    const letters = await dlq.waitForMessages(before + 2);
    const codes = await Promise.all(
      letters
        .slice(before)
        .map(async (l) => (await registry.decode(deadLetterEvent(service), l.value!)).error_code),
    );
    expect(codes.sort()).toEqual(['EVT_ERR_DECODE', 'EVT_ERR_UNKNOWN_SCHEMA'].sort());
    await waitFor(() => (handled.includes('after-garbage') ? true : undefined));
  });
});

describe('consumer shutdown', () => {
  const fixture = new URL('./fixtures/slow-consumer.ts', import.meta.url);

  async function runScenario(graceMs: number) {
    const prefix = `${uniqueName('shutdown')}.`;
    await makeTopics(prefix, 'slow-consumer');
    const group = uniqueName('group');
    const out = join(mkdtempSync(join(tmpdir(), 'tributary-')), 'done.txt');
    const env = serviceEnv({ TOPIC_PREFIX: prefix, GROUP: group, OUT_FILE: out, HANDLER_MS: '3000' });
    const first = startTsProcess(fixture, { ...env, SHUTDOWN_GRACE_MS: String(graceMs) });
    await waitFor(() => (first.stdout().includes('ready') ? true : undefined), { timeoutMs: 30_000 });
    const producer = new EventProducer(kafka, registry, prefix);
    await producer.connect();
    await producer.publish(batchReady, batch('slow-1'));
    await producer.disconnect();
    await waitFor(() => (first.stdout().includes('start slow-1') ? true : undefined), { timeoutMs: 30_000 });
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    const finishedBeforeExit = existsSync(out) ? readFileSync(out, 'utf8') : '';

    // A second replica of the same group takes over what the first handed back, if anything.
    const second = startTsProcess(fixture, { ...env, HANDLER_MS: '100', SHUTDOWN_GRACE_MS: '5000' });
    await waitFor(() => (second.stdout().includes('ready') ? true : undefined), { timeoutMs: 30_000 });
    // The group committed past slow-1 (the first replica's commit, or the second's after redelivering
    // it): a wrong redelivery has happened by then.
    await waitForCaughtUp({ groupId: group, topics: [`${prefix}batch.ready`] });
    await waitFor(
      () => (existsSync(out) && readFileSync(out, 'utf8').includes('slow-1') ? true : undefined),
      {
        timeoutMs: 30_000,
      },
    );
    second.child.kill('SIGTERM');
    await second.exited;
    return {
      finishedBeforeExit,
      done: readFileSync(out, 'utf8').trim().split('\n'),
      second: second.stdout(),
    };
  }

  it('when SIGTERM arrives mid-handler and the grace period allows, then the message is finished and not redelivered', async () => {
    const { finishedBeforeExit, done, second } = await runScenario(10_000);
    expect(finishedBeforeExit.trim()).toBe('slow-1');
    expect(done).toEqual(['slow-1']);
    expect(second).not.toContain('start slow-1');
  });

  it('when SIGTERM arrives mid-handler and the grace period runs out, then the message is handed back and redelivered once', async () => {
    const { finishedBeforeExit, done, second } = await runScenario(500);
    expect(finishedBeforeExit).toBe('');
    expect(done).toEqual(['slow-1']);
    expect(second).toContain('start slow-1');
  });
});
