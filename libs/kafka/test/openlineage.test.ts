import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '@tributary/errors';
import { EventRegistry, batchReady } from '@tributary/events';
import { batchReadyFixture } from '@tributary/events/fixtures';
import { OpenLineageEmitter, createLogger, createMetrics, withTask } from '@tributary/telemetry';
import { stackEnv, uniqueName, waitFor } from '@tributary/testing';
import { ConsumerRunner, EventProducer, createKafka, defineHandler, ensureTopics } from '../src/index.ts';

interface RunEvent {
  eventType: string;
  run: {
    runId: string;
    facets: Record<
      string,
      { traceId?: string; message?: string; run?: { runId: string }; job?: { name: string } }
    >;
  };
  job: { namespace: string; name: string };
  inputs: { namespace: string; name: string }[];
  schemaURL: string;
  producer: string;
}

const service = 'lineage-test';
const prefix = `${uniqueName('lineage')}.`;
const logger = createLogger({ serviceName: service, level: 'silent' });
const kafka = createKafka({ clientId: service, brokers: stackEnv.KAFKA_BROKERS.split(','), logger });
const registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });
const producer = new EventProducer(kafka, registry, prefix);
const received: RunEvent[] = [];
let server: Server;
let runner: ConsumerRunner;

beforeAll(async () => {
  // A local receiver standing in for the OpenLineage backend (Marquez): it records what it gets.
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/api/v1/lineage' && req.method === 'POST') received.push(JSON.parse(body) as RunEvent);
      res.writeHead(req.url === '/api/v1/lineage' ? 201 : 404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [
    { topic: `${prefix}batch.ready`, numPartitions: 1, replicationFactor: 1 },
    { topic: `${prefix}dlq.${service}`, numPartitions: 1, replicationFactor: 1 },
  ]);
  await admin.disconnect();
  await producer.connect();
  runner = new ConsumerRunner({
    kafka,
    registry,
    producer,
    service,
    groupId: uniqueName('group'),
    topicPrefix: prefix,
    logger,
    metricsRegistry: createMetrics(service).registry,
    retry: { maxRetries: 0, baseMs: 10, maxMs: 10 },
    shutdownGraceMs: 2000,
    lineage: new OpenLineageEmitter({
      url: `http://127.0.0.1:${port}`,
      namespace: 'tributary',
      kafkaNamespace: 'kafka://127.0.0.1:9092',
    }),
    handlers: [
      defineHandler({
        event: batchReady,
        // One seed task per message: it fails for the batch called `bad`.
        handle: (value) =>
          withTask('check_files', {}, () =>
            value.batch_id === 'bad'
              ? Promise.reject(new AppError('EVT_ERR_INVALID', 'refused on purpose'))
              : Promise.resolve(),
          ),
      }),
    ],
  });
  await runner.start();
});

afterAll(async () => {
  await runner.stop();
  await producer.disconnect();
  server.close();
});

describe('OpenLineage run events', () => {
  it('when a message is handled or dead-lettered, then START and COMPLETE or FAIL events reach the endpoint, for it and for its task', async () => {
    await producer.publish(batchReady, { ...batchReadyFixture, event_id: uniqueName('e'), batch_id: 'good' });
    await producer.publish(batchReady, { ...batchReadyFixture, event_id: uniqueName('e'), batch_id: 'bad' });
    await waitFor(() => (received.length >= 8 ? true : undefined), {
      timeoutMs: 30_000,
      what: 'eight run events',
    });
    const messages = received.filter((e) => e.job.name === `${service}.batch.ready`);
    const tasks = received.filter((e) => e.job.name === `${service}.check_files`);
    expect(messages).toHaveLength(4);
    expect(tasks).toHaveLength(4);

    // Each task run is part of the run of the message it ran for, and ends as that message did.
    for (const task of tasks) {
      const parent = task.run.facets.parent;
      expect(parent?.job?.name).toBe(`${service}.batch.ready`);
      const parentEvents = messages.filter((m) => m.run.runId === parent?.run?.runId);
      if (task.eventType !== 'START') {
        expect(parentEvents.map((m) => m.eventType)).toContain(task.eventType);
      }
      expect(parentEvents).toHaveLength(2);
      expect(task.run.facets.tributary_trace?.traceId).toBe(
        parentEvents[0]!.run.facets.tributary_trace?.traceId,
      );
    }
    expect(tasks.find((t) => t.eventType === 'FAIL')?.run.facets.errorMessage?.message).toBe(
      'refused on purpose',
    );

    const byRun = new Map<string, RunEvent[]>();
    for (const e of messages) byRun.set(e.run.runId, [...(byRun.get(e.run.runId) ?? []), e]);
    expect(byRun.size).toBe(2);
    const outcomes = [...byRun.values()].map((events) => events.map((e) => e.eventType).sort());
    expect(outcomes).toEqual(
      expect.arrayContaining([
        ['COMPLETE', 'START'],
        ['FAIL', 'START'],
      ]),
    );
    for (const event of messages) {
      expect(event.job).toEqual({ namespace: 'tributary', name: `${service}.batch.ready` });
      expect(event.inputs).toEqual([{ namespace: 'kafka://127.0.0.1:9092', name: `${prefix}batch.ready` }]);
      expect(event.run.runId).toMatch(/^[0-9a-f-]{36}$/);
      expect(event.run.facets.tributary_trace?.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(event.schemaURL).toContain('openlineage.io/spec');
    }
    const failed = messages.find((e) => e.eventType === 'FAIL')!;
    expect(failed.run.facets.errorMessage?.message).toBe('refused on purpose');
  });
});
