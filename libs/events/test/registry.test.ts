import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventProducer, createKafka } from '@tributary/kafka';
import { createLogger } from '@tributary/telemetry';
import { collectMessages, stackEnv, testKafka, uniqueName } from '@tributary/testing';
import { AppError } from '@tributary/errors';
import {
  EventRegistry,
  allEvents,
  batchIngested,
  batchReady,
  batchRejected,
  datasetPublished,
  deadLetterEvent,
  masterVersioned,
  prefixEvent,
  qualityEvaluated,
  retrainRequested,
  type EventDefinition,
} from '../src/index.ts';
import * as fixtures from '../src/fixtures.ts';

const prefix = `${uniqueName('events')}.`;
const registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });
const kafka = createKafka({
  clientId: 'events-test',
  brokers: stackEnv.KAFKA_BROKERS.split(','),
  logger: createLogger({ serviceName: 'events-test', level: 'silent' }),
});
const producer = new EventProducer(kafka, registry, prefix);

const cases: [EventDefinition<unknown>, unknown][] = [
  [batchReady, fixtures.batchReadyFixture],
  [batchIngested, fixtures.batchIngestedFixture],
  [batchRejected, fixtures.batchRejectedFixture],
  [masterVersioned, fixtures.masterVersionedFixture],
  [qualityEvaluated, fixtures.qualityEvaluatedFixture],
  [datasetPublished, fixtures.datasetPublishedFixture],
  [retrainRequested, fixtures.retrainRequestedFixture],
  [deadLetterEvent('preprocessor'), fixtures.deadLetterFixture],
] as [EventDefinition<unknown>, unknown][];

beforeAll(async () => {
  const admin = testKafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: cases.map(([def]) => ({ topic: `${prefix}${def.topic}`, numPartitions: 3 })),
    waitForLeaders: true,
  });
  await admin.disconnect();
  await producer.connect();
  // One collector per topic, joined in parallel: a consumer group join costs seconds.
  const started = await Promise.all(
    cases.map(([def]) => collectMessages(testKafka(), `${prefix}${def.topic}`)),
  );
  cases.forEach(([def], i) => collectors.set(def.topic, started[i]!));
});
afterAll(async () => {
  await Promise.all([...collectors.values()].map((c) => c.stop()));
  await producer.disconnect();
});

const collectors = new Map<string, Awaited<ReturnType<typeof collectMessages>>>();

describe('event contracts', () => {
  it('when the catalog is listed, then it holds every event of the design card and the additions', () => {
    expect(allEvents.map((e) => e.topic).sort()).toEqual(
      [
        'batch.ingested',
        'batch.ready',
        'batch.rejected',
        'dataset.published',
        'master.versioned',
        'quality.evaluated',
        'retrain.requested',
      ].sort(),
    );
    for (const def of allEvents) expect(def.subject).toBe(`${def.topic}-value`);
  });

  it.each(cases.map(([def, value]) => [def.topic, def, value] as const))(
    'when a %s event is published, then it comes back from Kafka identical, keyed by dataset, registered under <topic>-value',
    async (_topic, def, value) => {
      const collector = collectors.get(def.topic)!;
      {
        await producer.publish(def, value);
        const [message] = await collector.waitForMessages(1);
        expect(message!.value!.readUInt8(0)).toBe(0); // Confluent wire format: magic byte
        expect(await registry.decode(def, message!.value!)).toEqual(value);
        expect(message!.headers['event-name']).toBe(def.name);
        expect(message!.key).toBe(def.key(value));
        const subject = `${prefix}${def.topic}-value`;
        const latest = (await (
          await fetch(`${stackEnv.SCHEMA_REGISTRY_URL}/subjects/${subject}/versions/latest`)
        ).json()) as {
          id: number;
        };
        expect(message!.value!.readInt32BE(1)).toBe(latest.id);
        const config = (await (
          await fetch(`${stackEnv.SCHEMA_REGISTRY_URL}/config/${subject}`)
        ).json()) as Record<string, string>;
        expect(config.compatibilityLevel ?? config.compatibility).toBe('BACKWARD');
      }
    },
  );

  it('when a field is added without a default, then the registry refuses the change as incompatible', async () => {
    const def = prefixEvent(masterVersioned, `${uniqueName('compat')}.`);
    await registry.register(def);
    const fields = (def.schema.fields as unknown[]).concat({ name: 'new_required', type: 'string' });
    const err = await registry
      .registerSubject(def.subject, { ...def.schema, fields })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('EVT_ERR_INCOMPATIBLE_SCHEMA');
  });

  it('when a field is added with a default, then the registry accepts it as a new version', async () => {
    const def = prefixEvent(masterVersioned, `${uniqueName('compat')}.`);
    const v1 = await registry.register(def);
    const fields = (def.schema.fields as unknown[]).concat({
      name: 'note',
      type: ['null', 'string'],
      default: null,
    });
    const v2 = await registry.registerSubject(def.subject, { ...def.schema, fields });
    expect(v2).not.toBe(v1);
  });

  it('when a value breaks its schema, then encoding fails naming the field', async () => {
    const bad = { ...fixtures.masterVersionedFixture, row_count: 'many' };
    const err = await registry.encode(masterVersioned, bad as never).catch((e: unknown) => e);
    expect((err as AppError).code).toBe('EVT_ERR_INVALID');
    expect((err as AppError).message).toContain('row_count');
  });

  it('when bytes are not registry-framed Avro, then decoding fails as non-retriable', async () => {
    const err = await registry.decode(batchReady, Buffer.from('{"hello":"json"}')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).retriable).toBe(false);
  });

  it('when a message names a schema id the registry does not know, then decoding fails as EVT_ERR_UNKNOWN_SCHEMA', async () => {
    const framed = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0x00]), Buffer.from([2, 3])]);
    const err = await registry.decode(batchReady, framed).catch((e: unknown) => e);
    expect((err as AppError).code).toBe('EVT_ERR_UNKNOWN_SCHEMA');
    expect((err as AppError).retriable).toBe(false);
  });
});

describe('reading messages of other schema versions', () => {
  // The plain client writes as an older producer would: with the schema id it is given.
  const writer = new SchemaRegistry({ host: stackEnv.SCHEMA_REGISTRY_URL });

  /** batch.ready as it was before `attributes` and `files[].schema_version` (both with defaults). */
  function batchReadyV1(): Record<string, unknown> {
    type Field = { name: string; type: unknown };
    const schema = structuredClone(batchReady.schema) as { fields: Field[] };
    schema.fields = schema.fields.filter((f) => f.name !== 'attributes');
    const file = (schema.fields.find((f) => f.name === 'files')!.type as { items: { fields: Field[] } })
      .items;
    file.fields = file.fields.filter((f) => f.name !== 'schema_version');
    return schema;
  }

  it('when a message was written before fields with defaults were added, then it is read with their defaults', async () => {
    const def = prefixEvent(batchReady, `${uniqueName('evolve')}.`);
    const v1 = await registry.registerSubject(def.subject, batchReadyV1());
    expect(await registry.register(def), 'the current schema is a BACKWARD-compatible v2').not.toBe(v1);
    const { attributes: _attributes, files, ...rest } = fixtures.batchReadyFixture;
    const old = { ...rest, files: files.map(({ schema_version: _version, ...file }) => file) };
    const bytes = await writer.encode(v1, old);

    const expected = {
      ...old,
      attributes: {},
      files: old.files.map((f) => ({ ...f, schema_version: null })),
    };
    expect(await registry.decode(def, bytes)).toEqual(expected);
    expect(await registry.decode(def, bytes), 'the cached resolver reads alike').toEqual(expected);
  });

  it('when a message was written with a schema the local one cannot read, then decoding fails as non-retriable EVT_ERR_DECODE naming the event and subject', async () => {
    const def = prefixEvent(batchReady, `${uniqueName('evolve')}.`);
    const foreign = {
      type: 'record',
      name: 'BatchReady',
      namespace: 'io.tributary.events',
      fields: [{ name: 'dataset', type: 'int' }],
    };
    const id = await registry.registerSubject(def.subject, foreign);
    const err = await registry.decode(def, await writer.encode(id, { dataset: 7 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('EVT_ERR_DECODE');
    expect((err as AppError).retriable).toBe(false);
    expect((err as AppError).message).toContain('batch.ready');
    expect((err as AppError).message).toContain(def.subject);
  });
});

describe('registering at start-up', () => {
  it('when one of several events is incompatible with its subject, then registerAll fails naming that subject and the reason', async () => {
    const prefix = `${uniqueName('startup')}.`;
    const broken = prefixEvent(masterVersioned, prefix);
    await registry.registerSubject(broken.subject, {
      type: 'record',
      name: 'MasterVersioned',
      namespace: 'io.tributary.events',
      fields: [{ name: 'legacy', type: 'string' }],
    });
    const fine = prefixEvent(datasetPublished, prefix);
    const err = await registry.registerAll([fine, broken]).catch((e: unknown) => e);
    expect((err as AppError).code).toBe('EVT_ERR_INCOMPATIBLE_SCHEMA');
    expect((err as AppError).message).toContain(broken.subject);
    expect((err as AppError).message).toMatch(/incompatible/i);
    expect((err as AppError).message).not.toContain(fine.subject);
    const res = await fetch(`${stackEnv.SCHEMA_REGISTRY_URL}/subjects/${fine.subject}/versions/latest`);
    expect(res.status, 'the compatible event is registered all the same').toBe(200);
  });

  it('when replicas register the same new subjects at once, then each of them succeeds', async () => {
    // Apicurio answers 409 to all but the first of racing PUTs that create a subject's compatibility
    // rule; many subjects at once make the race likely on every run.
    const prefix = `${uniqueName('race')}.`;
    const defs = allEvents.map((def) => prefixEvent(def, prefix));
    const replicas = Array.from(
      { length: 8 },
      () => new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL }),
    );
    await Promise.all(replicas.map((r) => r.registerAll(defs)));
    const ids = await Promise.all(replicas.map((r) => r.register(defs[0]!)));
    expect(new Set(ids).size, 'one schema id for one schema').toBe(1);
    const res = await fetch(`${stackEnv.SCHEMA_REGISTRY_URL}/config/${defs[0]!.subject}`);
    expect(await res.json()).toMatchObject({ compatibilityLevel: 'BACKWARD' });
  });
});
