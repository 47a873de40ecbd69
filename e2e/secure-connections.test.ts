/**
 * The services over secured connections, against real secured servers (scripts/secure-stack.sh):
 * Kafka over SASL_SSL with SCRAM-SHA-512, Postgres accepting TLS only, Redis with a password over
 * TLS. The ingestor and the preprocessor run as processes with those settings and a batch merges;
 * a wrong password or an untrusted CA stops a service at start-up, exit 1, saying which.
 * The secured servers are started when they are not running, and stopped again afterwards.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventRegistry, batchReady, masterVersioned, prefixEvent } from '@tributary/events';
import { EventProducer, createKafka, type Kafka } from '@tributary/kafka';
import { createLogger } from '@tributary/telemetry';
import {
  batchReadyFor,
  collectMessages,
  freePort,
  runTributary,
  serviceEnv,
  stackEnv,
  startTsProcess,
  uniqueName,
  untrustedCaFile,
  useSecureStack,
  waitForServing,
  writeSampleBatch,
  type RunningProcess,
  type SecureStack,
  type SecuredSettings,
} from '@tributary/testing';

const ADMIN_TOKEN = 'secure-admin-token-0123456789';
let stack: SecureStack | undefined;
let secured: SecuredSettings;
let work: string;
let untrustedCa: string;
const id = uniqueName('secure');
const procs: RunningProcess[] = [];

beforeAll(async () => {
  stack = await useSecureStack();
  secured = stack.settings;
  work = mkdtempSync(join(tmpdir(), 'tributary-secure-'));
  // A CA the servers' certificates do not chain to.
  untrustedCa = untrustedCaFile(work);
}, 180_000);

afterAll(async () => {
  for (const p of procs) p.child.kill('SIGKILL');
  await cleanUp().catch((err: unknown) => process.stderr.write(`secure test clean-up: ${String(err)}\n`));
  if (work) rmSync(work, { recursive: true, force: true });
}, 90_000);

/** The secured Kafka as a test client sees it. */
function securedKafka(): Kafka {
  return createKafka({
    clientId: `${id}-test`,
    brokers: secured.KAFKA_BROKERS.split(','),
    ssl: { ca: [readFileSync(secured.KAFKA_SSL_CA_FILE, 'utf8')] },
    sasl: {
      mechanism: 'scram-sha-512',
      username: secured.KAFKA_SASL_USERNAME,
      password: secured.KAFKA_SASL_PASSWORD,
    },
    logger: createLogger({ serviceName: 'secure-test', level: 'silent' }),
  });
}

/** Topics and schemas this file made on the secured servers. */
async function cleanUp(): Promise<void> {
  if (!secured) return;
  const admin = securedKafka().admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(id));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
  const client = new pg.Client({
    connectionString: `${secured.DATABASE_URL}&sslrootcert=${secured.DATABASE_SSL_CA_FILE}`,
  });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>(
      'SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)',
      [id],
    );
    for (const { nspname } of rows) await client.query(`DROP SCHEMA "${nspname}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** A service process on the secured servers; `extra` overrides any setting. */
async function startService(
  service: 'ingestor' | 'preprocessor',
  tag: string,
  extra: Record<string, string> = {},
): Promise<{ proc: RunningProcess; port: number }> {
  const port = await freePort();
  const proc = startTsProcess(
    new URL(`../services/${service}/src/main.ts`, import.meta.url),
    serviceEnv({
      ...secured,
      SCHEMA_REGISTRY_URL: stackEnv.SCHEMA_REGISTRY_URL, // the stack's plain registry
      SERVICE_NAME: service,
      TOPIC_PREFIX: `${id}_${tag}.`,
      DATABASE_SCHEMA: `${id}_${tag}_${service}`,
      CATALOG_SCHEMA: `${id}_${tag}_catalog`,
      HTTP_PORT: String(port),
      ADMIN_TOKEN,
      LOG_LEVEL: 'warn',
      KAFKA_TOPIC_PARTITIONS: '1',
      DATA_STORE_URI: pathToFileURL(join(work, 'store')).href,
      SOURCE_FILE_ROOTS: work,
      INGEST_WORK_DIR: join(work, 'ingest-work'),
      OUTBOX_POLL_MS: '200',
      ...extra,
    }),
  );
  procs.push(proc);
  return { proc, port };
}

/** Waits for a process that must refuse to start; returns what it printed on stderr. */
async function refusedStart(proc: RunningProcess): Promise<string> {
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 60_000));
  const exited = await Promise.race([proc.exited, timeout]);
  if (exited === 'timeout') {
    proc.child.kill('SIGKILL');
    throw new Error(`still running after 60 s\n${proc.stderr().slice(-2000)}`);
  }
  expect(exited.code, proc.stderr().slice(-2000)).toBe(1);
  return proc.stderr();
}

describe('services over secured connections', () => {
  it('when the ingestor and the preprocessor use SASL_SSL Kafka, TLS Postgres and a Redis password, then a batch merges', async () => {
    const ingestor = await startService('ingestor', 'ok');
    // The Redis password from its own setting (a Secret in Kubernetes), the URL without one.
    const redis = new URL(secured.REDIS_URL);
    const preprocessor = await startService('preprocessor', 'ok', {
      REDIS_PASSWORD: decodeURIComponent(redis.password),
      REDIS_URL: `${redis.protocol}//${redis.host}`,
    });
    await Promise.all([
      waitForServing(ingestor.proc, ingestor.port, {
        path: '/readyz',
        timeoutMs: 90_000,
        what: 'ingestor ready',
      }),
      waitForServing(preprocessor.proc, preprocessor.port, {
        path: '/readyz',
        timeoutMs: 90_000,
        what: 'preprocessor ready',
      }),
    ]);

    // The dataset is declared in the catalog (on the TLS Postgres) with the CLI, as a deployment does.
    const declarations = join(work, 'datasets');
    mkdirSync(declarations, { recursive: true });
    writeFileSync(
      join(declarations, 'penguins.yaml'),
      stringify({
        apiVersion: 'tributary/v1',
        kind: 'Dataset',
        name: 'penguins',
        owners: ['field-team'],
        contract: { name: 'penguins', versions: ['1.0.0'], current: '1.0.0' },
      }),
    );
    const applied = await runTributary(
      [
        'datasets',
        'apply',
        declarations,
        '--contracts',
        fileURLToPath(new URL('../contracts/', import.meta.url)),
        '--url',
        `http://127.0.0.1:${ingestor.port}`,
        '--actor',
        'secure-test',
      ],
      { TRIBUTARY_ADMIN_TOKEN: ADMIN_TOKEN },
    );
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);

    const prefix = `${id}_ok.`;
    const kafka = securedKafka();
    const registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });
    const versions = await collectMessages(kafka, `${prefix}${masterVersioned.topic}`);
    const producer = new EventProducer(kafka, registry, prefix);
    await producer.connect();
    try {
      const batch = await writeSampleBatch(join(work, 'batch-1'), { count: 12 });
      await producer.publish(
        batchReady,
        batchReadyFor(batch, { batchId: 'secure-1', producer: 'secure-test' }),
      );
      const [message] = await versions.waitForMessages(1, 60_000).catch((err: unknown) => {
        throw new Error(
          `${String(err)}\n--- ingestor\n${ingestor.proc.stderr().slice(-2000)}\n--- preprocessor\n${preprocessor.proc.stderr().slice(-2000)}`,
        );
      });
      const event = await registry.decode(prefixEvent(masterVersioned, prefix), message!.value!);
      expect(event).toMatchObject({ dataset: 'penguins', master_version: 1 });
      expect(event.batch_ids).toEqual(['secure-1']);
    } finally {
      await producer.disconnect();
      await versions.stop();
    }
    ingestor.proc.child.kill('SIGTERM');
    preprocessor.proc.child.kill('SIGTERM');
    expect((await ingestor.proc.exited).code).toBe(0);
    expect((await preprocessor.proc.exited).code).toBe(0);
  });

  it('when a setting is wrong, then the service stops at start-up with exit code 1 naming the problem and the setting', async () => {
    const cases = await Promise.all([
      startService('ingestor', 'kpw', { KAFKA_SASL_PASSWORD: 'not-the-password' }),
      startService('ingestor', 'kca', { KAFKA_SSL_CA_FILE: untrustedCa }),
      startService('ingestor', 'pca', { DATABASE_SSL_CA_FILE: untrustedCa }),
      startService('preprocessor', 'rpw', {
        REDIS_URL: secured.REDIS_URL.replace(/:[^:@/]*@/, ':not-the-password@'),
      }),
      startService('preprocessor', 'rps', { REDIS_PASSWORD: 'not-the-password' }),
    ]);
    const [kafkaPassword, kafkaCa, postgresCa, redisPassword, redisSetting] = await Promise.all(
      cases.map(({ proc }) => refusedStart(proc)),
    );
    expect(kafkaPassword).toMatch(
      /ingestor: failed to start: Kafka: SASL authentication failed for user tributary \(.*\); check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD/,
    );
    expect(kafkaCa).toMatch(
      /ingestor: failed to start: Kafka: certificate not trusted \(127\.0\.0\.1:\d+: self-signed certificate in certificate chain\); check KAFKA_SSL_CA_FILE/,
    );
    expect(postgresCa).toMatch(
      /ingestor: failed to start: Postgres: certificate not trusted \(unable to verify the first certificate\); check DATABASE_SSL_CA_FILE/,
    );
    expect(redisPassword).toMatch(
      /preprocessor: failed to start: Redis: authentication failed at rediss:\/\/127\.0\.0\.1:\d+ \(WRONGPASS .*\); check the password in REDIS_URL/,
    );
    expect(redisSetting).toMatch(
      /preprocessor: failed to start: Redis: authentication failed at rediss:\/\/127\.0\.0\.1:\d+ \(WRONGPASS .*\); check REDIS_PASSWORD/,
    );
    // The message is the whole report: no stack trace, and the password is not printed.
    for (const stderr of [kafkaPassword, kafkaCa, postgresCa, redisPassword, redisSetting]) {
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(stderr).not.toContain('not-the-password');
    }
  });
});
