/**
 * The dataset refresh end to end, in-process: the quality-gate, the publisher and the notifier share
 * one TOPIC_PREFIX (each its own Postgres schema), a refresh is triggered through the gate's admin API,
 * and the outcome is read where it lands: the published store and catalog, the archive, and the local
 * Slack, SMTP and PagerDuty receivers.
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createPool } from '@tributary/db';
import type { ServiceApp } from '@tributary/runtime';
import { createObjectStore, createS3Client } from '@tributary/storage';
import {
  isolatedServiceEnv,
  serviceEnv,
  stackEnv,
  stackS3,
  stackS3Env,
  startJsonReceiver,
  startSmtpReceiver,
  uniqueName,
  waitFor,
  type JsonReceiver,
  type ReceivedMail,
} from '@tributary/testing';
import { buildApp as buildNotifier } from '../services/notifier/src/app.ts';
import { loadServiceConfig as notifierConfig } from '../services/notifier/src/config.ts';
import { buildApp as buildPublisher } from '../services/publisher/src/app.ts';
import { loadServiceConfig as publisherConfig } from '../services/publisher/src/config.ts';
import type { ArchiveRecord, CatalogEntry } from '../services/publisher/src/domain/ports.ts';
import {
  gateEnv,
  passingBaseline,
  sourceRows,
  startGate,
  workspace,
  type Workspace,
} from '../services/quality-gate/test/harness.ts';

const ADMIN_TOKEN = 'refresh-chain-token';
const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe('dataset refresh chain (quality-gate → publisher → notifier)', () => {
  const prefix = `${uniqueName('chain')}.`;
  const bucket = uniqueName('chain').replaceAll('_', '-');
  const storeUri = `s3://${bucket}/refresh`;
  const store = createObjectStore(storeUri, stackS3);
  let mails: ReceivedMail[];
  const cleanup: (() => Promise<void>)[] = [];
  const perTest: (() => Promise<void>)[] = [];
  let ws: Workspace;
  let publisher: ServiceApp;
  let slack: JsonReceiver;
  let pagerduty: JsonReceiver;

  /** Starts a service app on the shared topics, and drops its schema at the end. */
  async function startService(
    build: (env: Record<string, string>) => Promise<ServiceApp>,
    service: string,
    extra: Record<string, string>,
  ): Promise<ServiceApp> {
    const env = serviceEnv(
      isolatedServiceEnv(service, { TOPIC_PREFIX: prefix, SHUTDOWN_GRACE_MS: '2000', ...extra }),
    );
    const app = await build(env);
    await app.start();
    cleanup.push(async () => {
      await app.stop();
      const pool = createPool({ url: stackEnv.DATABASE_URL, schema: env.DATABASE_SCHEMA! });
      await pool.query(`DROP SCHEMA IF EXISTS ${env.DATABASE_SCHEMA!} CASCADE`).catch(() => undefined);
      await pool.end();
    });
    return app;
  }

  async function admin<T>(app: ServiceApp, url: string): Promise<{ status: number; body: T }> {
    const res = await app.http.inject({ method: 'GET', url, headers: AUTH });
    return { status: res.statusCode, body: res.json<T>() };
  }

  const archived = (version: string) =>
    waitFor(
      async () => {
        const res = await admin<ArchiveRecord>(publisher, `/admin/archives/${version}`);
        return res.status === 200 ? res.body : undefined;
      },
      { what: `archive of ${version}`, timeoutMs: 60_000 },
    );

  /** A quality-gate on the shared topics reading `sources` (the canonical rows unless overridden). */
  async function gate(override: { sha256?: string } = {}) {
    const source = await ws.source('canonical', sourceRows());
    const running = await startGate(
      gateEnv({
        TOPIC_PREFIX: prefix,
        REFRESH_STORE_URI: ws.storeUri,
        REFRESH_SOURCES: JSON.stringify([{ ...source, ...override }]),
        BASELINE_SEED: JSON.stringify(passingBaseline()),
      }),
    );
    perTest.push(() => running.stop());
    return { running, source };
  }

  beforeAll(async () => {
    ws = await workspace();
    cleanup.push(() => ws.remove());
    const client = createS3Client(stackS3);
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    client.destroy();

    slack = await startJsonReceiver();
    pagerduty = await startJsonReceiver();
    const smtp = await startSmtpReceiver();
    mails = smtp.mails;
    cleanup.push(() => Promise.all([smtp.close(), slack.close(), pagerduty.close()]).then(() => undefined));

    publisher = await startService((env) => buildPublisher(publisherConfig(env)), 'publisher', {
      ADMIN_TOKEN,
      PUBLISH_STORE_URI: storeUri,
      ...stackS3Env,
    });
    await startService((env) => buildNotifier(notifierConfig(env)), 'notifier', {
      SLACK_WEBHOOK_URL: slack.url,
      PAGERDUTY_EVENTS_URL: pagerduty.url,
      PAGERDUTY_ROUTING_KEY: 'routing-key-ml-oncall',
      SMTP_HOST: smtp.host,
      SMTP_PORT: String(smtp.port),
      EVAL_DISTRIBUTION_LIST: 'eval-leads@example.com',
      ...stackS3Env,
    });
  }, 120_000);

  afterEach(async () => {
    for (const fn of perTest.splice(0).reverse()) await fn();
  });

  afterAll(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  }, 60_000);

  it('when a refresh passes the gate, then the manifest and catalog row are published, the run archived, and Slack and email sent', async () => {
    const { running } = await gate();
    const { statusCode, run } = await running.refresh();
    expect(statusCode).toBe(200);
    expect(run.status).toBe('passed');

    const entry = await waitFor(
      async () =>
        (await admin<{ datasets: CatalogEntry[] }>(publisher, '/admin/catalog')).body.datasets.find(
          (d) => d.datasetVersion === run.datasetVersion,
        ),
      { what: 'catalog row', timeoutMs: 60_000 },
    );
    expect(entry).toMatchObject({ dataset: 'eval', sourceHash: run.sourceHash });
    const manifest = parse(
      (await store.getBuffer('datasets/eval/dataset_manifest.yaml')).toString(),
    ) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      dataset: 'eval',
      dataset_version: run.datasetVersion,
      checksum: { algorithm: 'sha256', value: entry.checksum },
    });
    expect(await archived(run.datasetVersion)).toMatchObject({ outcome: 'published', reason: null });

    await waitFor(() => (slack.bodies.length > 0 && mails.length > 0 ? true : undefined), {
      what: 'Slack message and email',
      timeoutMs: 60_000,
    });
    expect(slack.bodies).toHaveLength(1);
    expect(String(slack.bodies[0]!.text)).toContain(run.datasetVersion);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toEqual(['eval-leads@example.com']);
    expect(mails[0]!.raw).toContain('coverage_gap_report.md');
    expect(pagerduty.bodies).toHaveLength(0);
  });

  it('when a refresh fails in ingest_sources, then PagerDuty is paged with the reason, nothing is published and the run is archived', async () => {
    const catalogBefore = (await admin<{ datasets: CatalogEntry[] }>(publisher, '/admin/catalog')).body
      .datasets;
    const slackBefore = slack.bodies.length;
    const mailsBefore = mails.length;
    const { running } = await gate({ sha256: '0'.repeat(64) });
    const { statusCode, run } = await running.refresh();
    expect(statusCode).toBe(422);
    expect(run).toMatchObject({ status: 'failed', failedTask: 'ingest_sources' });

    const archive = await archived(run.datasetVersion);
    expect(archive).toMatchObject({ outcome: 'run_failed', reason: run.reason });
    await waitFor(() => (pagerduty.bodies.length > 0 ? true : undefined), {
      what: 'page',
      timeoutMs: 60_000,
    });
    expect(pagerduty.bodies).toHaveLength(1);
    expect(pagerduty.bodies[0]).toMatchObject({
      event_action: 'trigger',
      dedup_key: run.datasetVersion,
      payload: {
        severity: 'error',
        custom_details: { priority: 'P2', failed_task: 'ingest_sources', failure_reason: run.reason },
      },
    });
    const catalogAfter = (await admin<{ datasets: CatalogEntry[] }>(publisher, '/admin/catalog')).body
      .datasets;
    expect(catalogAfter).toEqual(catalogBefore);
    expect(
      await store.getBuffer(`datasets/eval/${run.datasetVersion}/candidate.jsonl`).catch(() => null),
    ).toBe(null);
    expect(slack.bodies).toHaveLength(slackBefore);
    expect(mails).toHaveLength(mailsBefore);
  });
});
