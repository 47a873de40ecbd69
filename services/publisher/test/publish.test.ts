import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CreateBucketCommand,
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  type LifecycleRule,
} from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createPool } from '@tributary/db';
import { JobQueue, jobsSchema } from '@tributary/jobs';
import {
  EventRegistry,
  datasetPublished,
  newEventId,
  qualityEvaluated,
  type QualityEvaluated,
} from '@tributary/events';
import { qualityEvaluatedFixture, qualityEvaluatedTaskFailedFixture } from '@tributary/events/fixtures';
import { EventProducer, createKafka } from '@tributary/kafka';
import { createObjectStore, createS3Client, type ObjectStore } from '@tributary/storage';
import { createLogger } from '@tributary/telemetry';
import {
  applyDeclarations,
  collectMessages,
  isolatedServiceEnv,
  serviceEnv,
  stackEnv,
  stackS3,
  stackS3Env,
  testKafka,
  uniqueName,
  waitFor,
} from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';
import { applyArchiveLifecycle } from '../src/data-access/object-stores.ts';
import { archiveLifecycleRules } from '../src/domain/retention.ts';
import type { ArchiveRecord, CatalogEntry } from '../src/domain/ports.ts';
import type { PublishRetry } from '../src/entry-points/jobs/publish-retry.job.ts';

const ADMIN_TOKEN = 'publisher-test-token';
const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };
const DAG_SUCCESS = /^dag_status\{.*dag="dataset_refresh".*status="success"/;
const DAG_FAILED = /^dag_status\{.*dag="dataset_refresh".*status="failed"/;
const PUBLISH_SKIPPED = /^task_duration_seconds_count\{.*task="publish_dataset".*status="skipped"/;
/** The trace id of a W3C traceparent (`00-<trace id>-<span id>-<flags>`). */
const traceIdOf = (traceparent: string | undefined) => traceparent?.split('-')[1];
/** The contract every test declaration follows (a declaration's contract must be in the catalog). */

/** A dataset declaring one evaluation set, `<name>-eval`, whose archives are kept `retentionDays`. */
function declaration(name: string, retentionDays: number) {
  return {
    source: `datasets/${name}.yaml`,
    spec: {
      apiVersion: 'tributary/v1',
      kind: 'Dataset',
      name,
      owners: [`${name}-team`],
      contract: { name: 'penguins', versions: ['1.0.0'], current: '1.0.0' },
      retention_days: retentionDays,
      refresh_jobs: [{ name: `${name}-eval`, schedule: null }],
    },
  };
}

const registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });
const kafka = createKafka({
  clientId: 'publisher-test',
  brokers: stackEnv.KAFKA_BROKERS.split(','),
  logger: createLogger({ serviceName: 'publisher-test', level: 'silent' }),
});

describe('publisher', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pub-test-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  /** A candidate and report as the quality-gate writes them, and the quality.evaluated naming them. */
  async function gateOutput(
    version: string,
    passed: boolean,
    rows: string[],
    extra: Partial<QualityEvaluated> = {},
  ): Promise<QualityEvaluated> {
    const candidate = rows.map((r) => JSON.stringify({ text: r })).join('\n') + '\n';
    const candidateFile = path.join(dir, `${version}.jsonl`);
    const reportFile = path.join(dir, `${version}.json`);
    await writeFile(candidateFile, candidate);
    await writeFile(reportFile, JSON.stringify({ dataset_version: version, passed }));
    return {
      ...qualityEvaluatedFixture,
      event_id: newEventId(),
      dataset: 'eval',
      dataset_version: version,
      passed,
      candidate_uri: pathToFileURL(candidateFile).href,
      report_uri: pathToFileURL(reportFile).href,
      candidate_checksum: createHash('sha256').update(candidate).digest('hex'),
      candidate_rows: rows.length,
      ...extra,
    };
  }

  /** The bucket's lifecycle rules as S3 holds them, in order. */
  async function bucketRules(bucket: string): Promise<LifecycleRule[]> {
    const client = createS3Client(stackS3);
    try {
      return (await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
    } finally {
      client.destroy();
    }
  }

  /** Replaces the bucket's lifecycle rules, as an operator does. */
  async function putBucketRules(bucket: string, rules: LifecycleRule[]): Promise<void> {
    const client = createS3Client(stackS3);
    try {
      await client.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: bucket,
          LifecycleConfiguration: { Rules: rules },
        }),
      );
    } finally {
      client.destroy();
    }
  }

  async function start(
    extra: Record<string, string> = {},
    opts: {
      bucketRules?: LifecycleRule[];
      /** Runs once the service's schema is migrated, before the service starts (what an earlier release left). */
      beforeStart?: (pool: ReturnType<typeof createPool>) => Promise<void>;
    } = {},
  ) {
    const bucket = uniqueName('pub').replaceAll('_', '-');
    const client = createS3Client(stackS3);
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    client.destroy();
    if (opts.bucketRules) await putBucketRules(bucket, opts.bucketRules);
    const env = serviceEnv(
      isolatedServiceEnv('publisher', {
        ADMIN_TOKEN,
        PUBLISH_STORE_URI: `s3://${bucket}/refresh`,
        ...stackS3Env,
        SHUTDOWN_GRACE_MS: '2000',
        ...extra,
      }),
    );
    const app = await buildApp(loadServiceConfig(env));
    const pool = createPool({ url: stackEnv.DATABASE_URL, schema: env.DATABASE_SCHEMA! });
    await opts.beforeStart?.(pool);
    await app.start();
    const producer = new EventProducer(kafka, registry, env.TOPIC_PREFIX);
    await producer.connect();
    const published = await collectMessages(testKafka(), `${env.TOPIC_PREFIX!}${datasetPublished.topic}`);
    const store: ObjectStore = createObjectStore(`s3://${bucket}/refresh`, stackS3);
    // What an operator reads of the publish retries: the jobs not finished yet.
    const jobs = new JobQueue({
      pool,
      schema: env.DATABASE_SCHEMA!,
      logger: createLogger({ serviceName: 'publisher-test', level: 'silent' }),
    });
    await jobs.start();
    cleanup.push(async () => {
      await Promise.allSettled([published.stop(), producer.disconnect()]);
      await app.stop();
      await jobs.stop();
      for (const schema of [env.DATABASE_SCHEMA!, jobsSchema(env.DATABASE_SCHEMA!), env.CATALOG_SCHEMA!]) {
        await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      }
      await pool.end();
    });
    const get = async <T>(url: string) => {
      const res = await app.http.inject({ method: 'GET', url, headers: AUTH });
      return { status: res.statusCode, body: res.json<T>() };
    };
    /** Declares datasets in the service's catalog and waits until it loaded them. */
    const declare = (...datasets: ReturnType<typeof declaration>[]) =>
      applyDeclarations(app.runtime, datasets, 'publisher-test');
    /** The bucket's lifecycle rules: prefix → days. */
    const lifecycleRules = async (): Promise<Record<string, number | undefined>> => {
      const client = createS3Client(stackS3);
      try {
        const { Rules } = (await client.send(
          new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }),
        )) as { Rules?: { Filter?: { Prefix?: string }; Expiration?: { Days?: number } }[] };
        return Object.fromEntries((Rules ?? []).map((r) => [r.Filter?.Prefix ?? '', r.Expiration?.Days]));
      } finally {
        client.destroy();
      }
    };
    return {
      app,
      bucket,
      pool,
      store,
      /** The dataset versions parked for a publish retry (jobs not finished yet). */
      parked: async () =>
        (await jobs.unfinished<PublishRetry>('publish-retry')).map((j) => j.data.evaluated.dataset_version),
      declare,
      lifecycleRules,
      published,
      publish: (e: QualityEvaluated) => producer.publish(qualityEvaluated, e),
      /** Value of the first /metrics line matching `line` (0 when none). */
      metric: async (line: RegExp) => {
        const found = (await app.runtime.metrics.registry.metrics()).split('\n').find((l) => line.test(l));
        return found ? Number(found.split(' ').at(-1)) : 0;
      },
      manifest: async (key: string) =>
        parse((await store.getBuffer(key)).toString()) as Record<string, unknown>,
      catalog: async () => (await get<{ datasets: CatalogEntry[] }>('/admin/catalog')).body.datasets,
      archived: (version: string) =>
        waitFor(
          async () => {
            const res = await get<ArchiveRecord>(`/admin/archives/${version}`);
            return res.status === 200 ? res.body : undefined;
          },
          { what: `archive of ${version}`, timeoutMs: 30_000 },
        ),
      keys: async (prefix: string) => {
        const out: string[] = [];
        for await (const o of store.list(prefix)) out.push(o.key);
        return out;
      },
    };
  }

  it('when the publisher starts, then its dag_status series of dataset_refresh are exported at 0 before any run', async () => {
    const svc = await start();
    // Scraped as Prometheus does: a series that first appears at 1 has no increase(), so the
    // TributaryQualityGateFailed alert would miss the first failed publish after each start.
    const res = await svc.app.http.inject({ method: 'GET', url: '/metrics' });
    const series = res.body.split('\n').filter((l) => l.startsWith('dag_status{'));
    expect(series.sort()).toEqual([
      'dag_status{dag="dataset_refresh",status="failed",service="publisher"} 0',
      'dag_status{dag="dataset_refresh",status="success",service="publisher"} 0',
    ]);
  });

  it('when the gate passed, then the candidate, the manifest and the catalog row are published and the run archived', async () => {
    const svc = await start();
    const event = await gateOutput('eval-v1', true, ['a b', 'c d']);
    await svc.publish(event);
    const archive = await svc.archived('eval-v1');
    expect(archive).toMatchObject({ outcome: 'published', reason: null });

    expect((await svc.keys('datasets/')).sort()).toEqual([
      'datasets/eval/dataset_manifest.yaml',
      'datasets/eval/eval-v1/candidate.jsonl',
      'datasets/eval/eval-v1/dataset_manifest.yaml',
      'datasets/eval/eval-v1/quality_report.json',
    ]);
    expect((await svc.keys('archive/')).sort()).toEqual([
      'archive/eval/eval-v1/candidate_diff.json',
      'archive/eval/eval-v1/quality_report.json',
      'archive/eval/eval-v1/run_log.json',
    ]);
    const manifest = parse(
      (await svc.store.getBuffer('datasets/eval/dataset_manifest.yaml')).toString(),
    ) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      dataset: 'eval',
      dataset_version: 'eval-v1',
      declared_by: null, // no dataset declares the evaluation set
      location: expect.stringMatching(
        /^s3:\/\/.+\/refresh\/datasets\/eval\/eval-v1\/candidate\.jsonl$/,
      ) as unknown,
      checksum: { algorithm: 'sha256', value: event.candidate_checksum },
      versions: { source_hash: event.source_hash, master_version: 7, baseline: 'baseline_eval_v1' },
    });
    expect(Date.parse(manifest.generated_at as string)).toBeGreaterThan(0);

    const [entry] = await svc.catalog();
    expect(entry).toMatchObject({
      datasetVersion: 'eval-v1',
      checksum: event.candidate_checksum,
      dataset: 'eval',
    });

    await waitFor(() => (svc.published.messages.length > 0 ? true : undefined), {
      what: 'dataset.published',
    });
    const published = await registry.decode(datasetPublished, svc.published.messages[0]!.value!);
    expect(published).toMatchObject({ dataset_version: 'eval-v1', checksum: event.candidate_checksum });
    // The run id is kept where lineage reads it: the catalog row and the manifest.
    expect(published.run_id).toBeTruthy();
    expect(entry!.runId).toBe(published.run_id);
    expect(manifest.run_id).toBe(published.run_id);

    // The run ended here: the publisher counts it, once.
    await waitFor(async () => ((await svc.metric(DAG_SUCCESS)) === 1 ? true : undefined), {
      what: 'dag_status success',
    });

    // A redelivery publishes (and counts) nothing twice.
    await svc.publish({ ...event, event_id: newEventId() });
    await waitFor(async () => ((await svc.metric(PUBLISH_SKIPPED)) === 1 ? true : undefined), {
      what: 'the redelivery handled',
    });
    expect(await svc.catalog()).toHaveLength(1);
    expect(svc.published.messages).toHaveLength(1);
    expect(await svc.metric(DAG_SUCCESS)).toBe(1);
  });

  it('when the gate failed, then nothing is published but the run is archived', async () => {
    const svc = await start();
    await svc.publish(await gateOutput('eval-bad', false, ['x y']));
    expect(await svc.archived('eval-bad')).toMatchObject({ outcome: 'gate_failed' });
    expect(await svc.keys('datasets/')).toEqual([]);
    expect(await svc.catalog()).toEqual([]);
    const log = JSON.parse((await svc.store.getBuffer('archive/eval/eval-bad/run_log.json')).toString()) as {
      outcome: string;
      retention_days: number;
    };
    expect(log).toMatchObject({ outcome: 'gate_failed', retention_days: 90 });
    // The run ended in the quality-gate, which counted it.
    await waitFor(async () => ((await svc.metric(PUBLISH_SKIPPED)) === 1 ? true : undefined), {
      what: 'publish_dataset observed as skipped',
    });
    expect(await svc.metric(DAG_FAILED)).toBe(0);
    expect(await svc.metric(DAG_SUCCESS)).toBe(0);
  });

  it('when the run failed in ingest_sources, then nothing is published but the run is archived with the reason', async () => {
    const svc = await start();
    const reason = 'source canonical: checksum mismatch (expected sha256 0000, got 1111)';
    await svc.publish({
      ...qualityEvaluatedTaskFailedFixture,
      event_id: newEventId(),
      dataset: 'eval',
      dataset_version: 'eval-ingest-failed',
      failure_reason: reason,
    });
    expect(await svc.archived('eval-ingest-failed')).toMatchObject({ outcome: 'run_failed', reason });
    expect(await svc.keys('datasets/')).toEqual([]);
    expect(await svc.catalog()).toEqual([]);
    expect((await svc.keys('archive/')).sort()).toEqual([
      'archive/eval/eval-ingest-failed/candidate_diff.json',
      'archive/eval/eval-ingest-failed/run_log.json',
    ]);
    const log = JSON.parse(
      (await svc.store.getBuffer('archive/eval/eval-ingest-failed/run_log.json')).toString(),
    ) as Record<string, unknown>;
    expect(log).toMatchObject({ outcome: 'run_failed', reason, failed_task: 'ingest_sources' });
    expect(svc.published.messages).toHaveLength(0);
  });

  it('when the run failed before the gate, then it counts neither as a success nor twice as a failure', async () => {
    const svc = await start();
    await svc.publish({
      ...qualityEvaluatedTaskFailedFixture,
      event_id: newEventId(),
      dataset: 'eval',
      dataset_version: 'eval-run-failed-metrics',
      failed_task: 'generate_candidate',
      failure_reason: 'generate_candidate failed after 3 attempts: store unreachable',
    });
    expect(await svc.archived('eval-run-failed-metrics')).toMatchObject({ outcome: 'run_failed' });
    await waitFor(async () => ((await svc.metric(PUBLISH_SKIPPED)) === 1 ? true : undefined), {
      what: 'publish_dataset observed as skipped',
    });
    // The quality-gate counted the failed run where it ended.
    expect(await svc.metric(DAG_SUCCESS)).toBe(0);
    expect(await svc.metric(DAG_FAILED)).toBe(0);
    expect(await svc.metric(/^task_duration_seconds_count\{.*task="publish_dataset".*status="success"/)).toBe(
      0,
    );
  });

  it.each(['after_candidate_upload', 'after_manifest_write'])(
    'when publishing keeps failing %s, then after two retries nothing of the version remains and the previous manifest is current',
    async (fault) => {
      const svc = await start({
        PUBLISH_FAULT_INJECTION: fault,
        PUBLISH_RETRY_DELAYS_MS: '200,200',
        PUBLISH_RETRY_POLL_MS: '100',
      });
      const previous = 'dataset: eval\ndataset_version: eval-v1\n';
      await svc.store.put('datasets/eval/dataset_manifest.yaml', previous);
      await svc.publish(await gateOutput('eval-v2', true, ['a b']));
      const archive = await svc.archived('eval-v2');
      expect(archive).toMatchObject({ outcome: 'publish_failed' });
      expect(archive.reason).toContain('publish_dataset failed after 3 attempts');
      expect(archive.reason).toContain(`injected fault (PUBLISH_FAULT_INJECTION=${fault})`);
      expect(await svc.keys('datasets/')).toEqual(['datasets/eval/dataset_manifest.yaml']);
      expect((await svc.store.getBuffer('datasets/eval/dataset_manifest.yaml')).toString()).toBe(previous);
      expect(await svc.catalog()).toEqual([]);
      expect(svc.published.messages).toHaveLength(0);
      // The run ended here, failed: counted once, never as a success.
      await waitFor(async () => ((await svc.metric(DAG_FAILED)) === 1 ? true : undefined), {
        what: 'dag_status failed',
      });
      expect(await svc.metric(DAG_SUCCESS)).toBe(0);
    },
  );

  it('when an archive is older than the retention, then the lifecycle rule and the sweep remove it', async () => {
    const svc = await start();
    const bucket = svc.store.uri.slice('s3://'.length).split('/')[0]!;
    const client = createS3Client(stackS3);
    const lifecycle = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
    client.destroy();
    expect(lifecycle.Rules).toEqual([
      expect.objectContaining({
        Status: 'Enabled',
        Expiration: { Days: 90 },
        Filter: { Prefix: 'refresh/archive/' },
      }),
    ]);
    await svc.publish(await gateOutput('eval-old', false, ['x y']));
    await svc.archived('eval-old');
    expect(await svc.keys('archive/')).toHaveLength(3);
    await svc.pool.query(`UPDATE archives SET archived_at = now() - interval '91 days'`);
    const res = await svc.app.http.inject({ method: 'POST', url: '/admin/archives/sweep', headers: AUTH });
    expect(res.json()).toEqual({ swept: ['eval-old'] });
    expect(await svc.keys('archive/')).toEqual([]);
  });

  it('when publishing fails once, then the retry publishes the version in the trace of its run', async () => {
    const svc = await start({
      PUBLISH_FAULT_INJECTION: 'after_manifest_write',
      PUBLISH_FAULT_INJECTION_ATTEMPTS: '1',
      PUBLISH_RETRY_DELAYS_MS: '300,300',
      PUBLISH_RETRY_POLL_MS: '100',
    });
    await svc.publish(await gateOutput('eval-v3', true, ['a b']));
    expect(await svc.archived('eval-v3')).toMatchObject({ outcome: 'published', reason: null });
    const [entry] = await svc.catalog();
    expect(entry).toMatchObject({ datasetVersion: 'eval-v3' });
    expect((await svc.keys('datasets/')).sort()).toEqual([
      'datasets/eval/dataset_manifest.yaml',
      'datasets/eval/eval-v3/candidate.jsonl',
      'datasets/eval/eval-v3/dataset_manifest.yaml',
      'datasets/eval/eval-v3/quality_report.json',
    ]);
    // The job is completed once its handler returned, just after what it published is visible.
    await waitFor(async () => ((await svc.parked()).length === 0 ? true : undefined), {
      what: 'no publish parked',
    });

    // One trace per run: the retry's dataset.published carries the run's trace, not a new one.
    const [message] = await svc.published.waitForMessages(1);
    const published = await registry.decode(datasetPublished, message!.value!);
    expect(published.run_id).toMatch(/^[0-9a-f]{32}$/);
    expect(traceIdOf(message!.headers.traceparent)).toBe(published.run_id);
    expect(entry!.runId).toBe(published.run_id);
  });

  it('when an earlier release left a publish parked for its retry, then the job worker takes it over and publishes it in the trace of its run', async () => {
    const runId = 'e'.repeat(32);
    const parked = await gateOutput('eval-legacy', true, ['a b']);
    const svc = await start(
      { PUBLISH_RETRY_POLL_MS: '100' },
      {
        // The retry poller's table as the previous release left it: attempt 2, due a minute ago.
        beforeStart: async (pool) => {
          await pool.query(
            `INSERT INTO publish_retries (dataset_version, event, run_id, attempt, next_attempt_at, last_reason, traceparent)
             VALUES ($1, $2, $3, 2, now() - interval '1 minute', 'store unreachable', $4)`,
            [parked.dataset_version, JSON.stringify(parked), runId, `00-${runId}-${'f'.repeat(16)}-01`],
          );
        },
      },
    );
    expect(await svc.archived('eval-legacy')).toMatchObject({ outcome: 'published', reason: null });
    const [message] = await svc.published.waitForMessages(1);
    expect(traceIdOf(message!.headers.traceparent)).toBe(runId);
    expect((await svc.pool.query('SELECT 1 FROM publish_retries')).rowCount).toBe(0);
    // The job is completed once its handler returned, just after what it published is visible.
    await waitFor(async () => ((await svc.parked()).length === 0 ? true : undefined), {
      what: 'the handed-over publish completed',
    });
  });

  it('when an older version is published by a retry after a newer one, then the newer one stays current', async () => {
    const svc = await start({
      PUBLISH_RETRY_DELAYS_MS: Array.from({ length: 30 }, () => '500').join(','),
      PUBLISH_RETRY_POLL_MS: '100',
    });
    const now = Date.now();
    const older = await gateOutput('eval-a', true, ['a b', 'c d'], { occurred_at: now - 60_000 });
    const newer = await gateOutput('eval-b', true, ['c d', 'e f'], { occurred_at: now });
    // The older version's candidate is not readable yet: its publish fails and is parked until it is.
    const olderCandidate = fileURLToPath(older.candidate_uri);
    const candidate = await readFile(olderCandidate);
    await rm(olderCandidate);
    await svc.publish(older);
    await waitFor(async () => ((await svc.parked()).includes('eval-a') ? true : undefined), {
      what: 'eval-a parked',
    });

    await svc.publish(newer);
    expect(await svc.archived('eval-b')).toMatchObject({ outcome: 'published' });
    expect(await svc.manifest('datasets/eval/dataset_manifest.yaml')).toMatchObject({
      dataset_version: 'eval-b',
    });
    await writeFile(olderCandidate, candidate);
    expect(await svc.archived('eval-a')).toMatchObject({ outcome: 'published', reason: null });

    // The late retry rolled nothing back: the current manifest and "latest" are still the newer one.
    expect(await svc.manifest('datasets/eval/dataset_manifest.yaml')).toMatchObject({
      dataset_version: 'eval-b',
    });
    const catalog = await svc.catalog();
    expect(catalog.map((e) => e.datasetVersion)).toEqual(['eval-b', 'eval-a']);
    expect(catalog[0]!.evaluatedAt).toBe(new Date(now).toISOString());
    // The older version is published all the same, its catalog row naming its own manifest.
    expect(catalog[1]!.manifestUri).toMatch(/\/datasets\/eval\/eval-a\/dataset_manifest\.yaml$/);
    expect(await svc.manifest('datasets/eval/eval-a/dataset_manifest.yaml')).toMatchObject({
      dataset_version: 'eval-a',
      evaluated_at: new Date(now - 60_000).toISOString(),
    });
    expect((await svc.keys('datasets/eval/eval-a/')).sort()).toEqual([
      'datasets/eval/eval-a/candidate.jsonl',
      'datasets/eval/eval-a/dataset_manifest.yaml',
      'datasets/eval/eval-a/quality_report.json',
    ]);
    await svc.published.waitForMessages(2);
    // Its diff is against what was published before it was evaluated (nothing), not the newer one.
    const diff = JSON.parse(
      (await svc.store.getBuffer('archive/eval/eval-a/candidate_diff.json')).toString(),
    ) as Record<string, unknown>;
    expect(diff).toMatchObject({ previous_version: null, added: 2, removed: 0 });
  });
  it('when an evaluation set is declared, then the manifest and catalog row name its dataset and its archive is kept for its retention_days', async () => {
    const svc = await start();
    await svc.declare(declaration('brief', 7), declaration('lasting', 365));
    // The S3 rules follow: one per declared evaluation set, and none on the whole archive/ prefix,
    // which would cut the 365 days of lasting-eval to the default 90 (S3 keeps the shortest rule).
    await waitFor(
      async () => {
        const rules = await svc.lifecycleRules();
        return 'refresh/archive/brief-eval/' in rules ? rules : undefined;
      },
      { what: 'lifecycle rules of the declared evaluation sets', timeoutMs: 10_000 },
    );
    expect(await svc.lifecycleRules()).toEqual({
      'refresh/archive/brief-eval/': 7,
      'refresh/archive/lasting-eval/': 365,
    });

    await svc.publish(await gateOutput('brief-v1', true, ['a b'], { dataset: 'brief-eval' }));
    await svc.publish(await gateOutput('lasting-v1', false, ['x y'], { dataset: 'lasting-eval' }));
    await svc.publish(await gateOutput('eval-v1', false, ['x y']));
    for (const version of ['brief-v1', 'lasting-v1', 'eval-v1']) await svc.archived(version);

    expect(await svc.manifest('datasets/brief-eval/dataset_manifest.yaml')).toMatchObject({
      dataset: 'brief-eval',
      dataset_version: 'brief-v1',
      declared_by: 'brief',
    });
    expect(await svc.catalog()).toEqual([
      expect.objectContaining({ dataset: 'brief-eval', datasetVersion: 'brief-v1', declaredBy: 'brief' }),
    ]);
    const runLog = async (evaluationSet: string, version: string) =>
      JSON.parse(
        (await svc.store.getBuffer(`archive/${evaluationSet}/${version}/run_log.json`)).toString(),
      ) as Record<string, unknown>;
    expect(await runLog('brief-eval', 'brief-v1')).toMatchObject({ declared_by: 'brief', retention_days: 7 });
    expect(await runLog('lasting-eval', 'lasting-v1')).toMatchObject({
      declared_by: 'lasting',
      retention_days: 365,
    });
    expect(await runLog('eval', 'eval-v1')).toMatchObject({ declared_by: null, retention_days: 90 });

    const age = (version: string, days: number) =>
      svc.pool.query(
        `UPDATE archives SET archived_at = now() - make_interval(days => $2) WHERE dataset_version = $1`,
        [version, days],
      );
    const sweep = async () =>
      (await svc.app.http.inject({ method: 'POST', url: '/admin/archives/sweep', headers: AUTH })).json<{
        swept: string[];
      }>();
    // Eight days old: past the 7 days of brief-eval, within the default and the 365 days.
    for (const version of ['brief-v1', 'lasting-v1', 'eval-v1']) await age(version, 8);
    expect(await sweep()).toEqual({ swept: ['brief-v1'] });
    expect(await svc.keys('archive/brief-eval/')).toEqual([]);
    // 91 days old: past the default of the undeclared set, within the 365 days of lasting-eval.
    for (const version of ['lasting-v1', 'eval-v1']) await age(version, 91);
    expect(await sweep()).toEqual({ swept: ['eval-v1'] });
    expect(await svc.keys('archive/lasting-eval/')).toHaveLength(3);

    // A re-applied retention reaches the running service: the sweep and the rules follow it.
    await svc.declare(declaration('brief', 7), declaration('lasting', 60));
    expect(await sweep()).toEqual({ swept: ['lasting-v1'] });
    expect(await svc.keys('archive/')).toEqual([]);
    const rules = await waitFor(
      async () => {
        const current = await svc.lifecycleRules();
        return current['refresh/archive/lasting-eval/'] === 60 ? current : undefined;
      },
      { what: 'lifecycle rules of the re-applied retention', timeoutMs: 10_000 },
    );
    expect(rules).toEqual({
      'refresh/archive/': 90,
      'refresh/archive/brief-eval/': 7,
      'refresh/archive/lasting-eval/': 60,
    });
  });

  it('when the bucket has lifecycle rules of its own, then every publisher write keeps them and replaces only its own rules', async () => {
    // The operator's rules, in shapes the publisher never writes (whole bucket, tags, transitions).
    const foreign: LifecycleRule[] = [
      { ID: 'operator-tmp', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 3 } },
      {
        ID: 'operator-multipart',
        Status: 'Enabled',
        Filter: { Prefix: '' },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
      },
      {
        ID: 'operator-cold',
        Status: 'Disabled',
        Filter: { And: { Prefix: 'cold/', Tags: [{ Key: 'tier', Value: 'cold' }] } },
        Transitions: [{ Days: 30, StorageClass: 'GLACIER' }],
      },
      // Named like the publisher's, but outside its store (refresh/): not its own.
      {
        ID: 'tributary-archive-retention-elsewhere',
        Status: 'Enabled',
        Filter: { Prefix: 'elsewhere/archive/' },
        Expiration: { Days: 1 },
      },
    ];
    // A rule of the publisher's for an evaluation set no longer declared: stale, to be removed.
    const stale: LifecycleRule = {
      ID: 'tributary-archive-retention-gone-eval',
      Status: 'Enabled',
      Filter: { Prefix: 'refresh/archive/gone-eval/' },
      Expiration: { Days: 5 },
    };
    const svc = await start({}, { bucketRules: [...foreign, stale] });
    const byId = (rules: LifecycleRule[]): Record<string, LifecycleRule> =>
      Object.fromEntries(rules.map((r): [string, LifecycleRule] => [r.ID ?? '', r]));
    const rulePrefixOf = (r: LifecycleRule) => r.Filter?.Prefix ?? '';
    /** The bucket's rules once the publisher's are `expected` (prefix → days, in prefix order). */
    const settled = (expected: Record<string, number>) =>
      waitFor(
        async () => {
          const rules = await bucketRules(svc.bucket);
          const own = Object.fromEntries(
            [...rules]
              .sort((a, b) => (rulePrefixOf(a) < rulePrefixOf(b) ? -1 : 1))
              .filter(
                (r) =>
                  r.ID?.startsWith('tributary-archive-retention') && r.Filter?.Prefix?.startsWith('refresh/'),
              )
              .map((r) => [r.Filter?.Prefix ?? '', r.Expiration?.Days]),
          );
          return JSON.stringify(own) === JSON.stringify(expected) ? rules : undefined;
        },
        { what: `lifecycle rules ${JSON.stringify(expected)}`, timeoutMs: 10_000 },
      );

    // The start-up write: the default rule added, the stale one removed, the others untouched.
    let rules = await settled({ 'refresh/archive/': 90 });
    const { 'tributary-archive-retention': defaultRule, ...others } = byId(rules);
    expect(others).toEqual(byId(foreign));
    expect(defaultRule).toMatchObject({ Status: 'Enabled', Expiration: { Days: 90 } });

    // A write after a change of the declarations.
    await svc.declare(declaration('brief', 7), declaration('lasting', 365));
    rules = await settled({ 'refresh/archive/brief-eval/': 7, 'refresh/archive/lasting-eval/': 365 });
    expect(Object.keys(byId(rules)).sort()).toEqual(
      [
        ...foreign.map((r) => r.ID!),
        'tributary-archive-retention-brief-eval',
        'tributary-archive-retention-lasting-eval',
      ].sort(),
    );
    expect(byId(rules)).toMatchObject(byId(foreign));

    // A rule the operator adds while the publisher runs survives its next write too.
    const late: LifecycleRule = {
      ID: 'operator-late',
      Status: 'Enabled',
      Filter: { Prefix: 'scratch/' },
      Expiration: { Days: 1 },
    };
    await putBucketRules(svc.bucket, [...rules, late]);
    await svc.declare(declaration('brief', 7), declaration('lasting', 60));
    rules = await settled({
      'refresh/archive/': 90,
      'refresh/archive/brief-eval/': 7,
      'refresh/archive/lasting-eval/': 60,
    });
    expect(byId(rules)).toMatchObject({ ...byId(foreign), 'operator-late': late });
    expect(rules).toHaveLength(foreign.length + 1 + 3);

    // A restart, or another replica, asking for the same rules finds them in place: no write.
    const again = await applyArchiveLifecycle(
      `s3://${svc.bucket}/refresh`,
      stackS3,
      archiveLifecycleRules({ defaultDays: 90, byEvaluationSet: { 'brief-eval': 7, 'lasting-eval': 60 } }),
    );
    expect(again).toMatchObject({ applied: true, written: false, removed: [] });
    expect(again.kept.sort()).toEqual([...foreign.map((r) => r.ID!), 'operator-late'].sort());
    expect(await bucketRules(svc.bucket)).toEqual(rules);
  });
});
