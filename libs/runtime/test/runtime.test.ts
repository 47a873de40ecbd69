import { describe, expect, it } from 'vitest';
import { commonSchema, loadConfig } from '@tributary/config';
import { AppError } from '@tributary/errors';
import { EventRegistry, batchReady, datasetPublished } from '@tributary/events';
import { outboxMigrations } from '@tributary/outbox';
import { isolatedServiceEnv, serviceEnv, stackEnv } from '@tributary/testing';
import { assembleService, createRuntime, outboxRelayWorker } from '../src/index.ts';

const SERVICE = 'runtime-test';
const registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });

/** A service config of its own topics (prefix) and database schema. */
function testConfig() {
  return loadConfig(
    commonSchema,
    serviceEnv({ ...isolatedServiceEnv(SERVICE), SERVICE_NAME: SERVICE, LOG_LEVEL: 'silent' }),
  );
}

/** Leaves under `subject` a schema whose old messages the current event could not read. */
async function occupyWithIncompatible(subject: string, recordName: string): Promise<void> {
  await registry.registerSubject(subject, {
    type: 'record',
    name: recordName,
    namespace: 'io.tributary.events',
    fields: [{ name: 'legacy', type: 'string' }],
  });
}

/** The subject's compatibility, or undefined when nothing is registered under it. */
async function registeredCompatibility(subject: string): Promise<string | undefined> {
  const url = stackEnv.SCHEMA_REGISTRY_URL;
  const latest = await fetch(`${url}/subjects/${encodeURIComponent(subject)}/versions/latest`);
  if (latest.status === 404) return undefined;
  expect(latest.status).toBe(200);
  const config = (await (await fetch(`${url}/config/${encodeURIComponent(subject)}`)).json()) as Record<
    string,
    string
  >;
  return config.compatibilityLevel ?? config.compatibility;
}

describe('schema registration at start-up', () => {
  it('when a runtime is created, then its dead-letter event and the events it produces are registered BACKWARD', async () => {
    const config = testConfig();
    const runtime = await createRuntime(config, { migrations: [], topics: [], produces: [batchReady] });
    try {
      const prefix = config.TOPIC_PREFIX;
      expect(await registeredCompatibility(`${prefix}dlq.${SERVICE}-value`)).toBe('BACKWARD');
      expect(await registeredCompatibility(`${prefix}batch.ready-value`)).toBe('BACKWARD');
      expect(await registeredCompatibility(`${prefix}dataset.published-value`)).toBeUndefined();
    } finally {
      await runtime.close();
    }
  });

  it('when a produced event is incompatible with its subject, then createRuntime fails naming the subject and the reason', async () => {
    const config = testConfig();
    const subject = `${config.TOPIC_PREFIX}batch.ready-value`;
    await occupyWithIncompatible(subject, 'BatchReady');
    const err = await createRuntime(config, { migrations: [], topics: [], produces: [batchReady] }).then(
      async (runtime) => {
        await runtime.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('EVT_ERR_INCOMPATIBLE_SCHEMA');
    expect((err as AppError).message).toContain(subject);
    expect((err as AppError).message).toMatch(/incompatible/i);
  });

  it('when a service with an outbox relay starts, then the relayed events are registered before any is produced', async () => {
    const config = testConfig();
    const runtime = await createRuntime(config, { migrations: [outboxMigrations], topics: [] });
    const app = assembleService({
      runtime,
      area: 'PRE',
      handlers: [],
      workers: [outboxRelayWorker(runtime, [datasetPublished])],
    });
    try {
      await app.start();
      expect(await registeredCompatibility(`${config.TOPIC_PREFIX}dataset.published-value`)).toBe('BACKWARD');
    } finally {
      await app.stop();
    }
  });

  it('when a relayed event is incompatible with its subject, then the service refuses to start naming the subject', async () => {
    const config = testConfig();
    const subject = `${config.TOPIC_PREFIX}dataset.published-value`;
    await occupyWithIncompatible(subject, 'DatasetPublished');
    const runtime = await createRuntime(config, { migrations: [outboxMigrations], topics: [] });
    const app = assembleService({
      runtime,
      area: 'PRE',
      handlers: [],
      workers: [outboxRelayWorker(runtime, [datasetPublished])],
    });
    try {
      const err = await app.start().catch((e: unknown) => e);
      expect((err as AppError).code).toBe('EVT_ERR_INCOMPATIBLE_SCHEMA');
      expect((err as AppError).message).toContain(subject);
    } finally {
      await app.stop();
    }
  });
});
