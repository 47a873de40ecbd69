import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@tributary/db';
import { JobQueue, jobsSchema, retryPolicy } from '@tributary/jobs';
import {
  EventRegistry,
  batchRejected,
  datasetPublished,
  deadLetterEvent,
  newEventId,
  qualityEvaluated,
} from '@tributary/events';
import {
  batchRejectedFixture,
  datasetPublishedFixture,
  deadLetterFixture,
  qualityEvaluatedFixture,
  qualityEvaluatedTaskFailedFixture,
} from '@tributary/events/fixtures';
import { EventProducer, createKafka } from '@tributary/kafka';
import { createLogger, withSpan } from '@tributary/telemetry';
import {
  applyDeclarations,
  isolatedServiceEnv,
  serviceEnv,
  stackEnv,
  startJsonReceiver,
  startSmtpReceiver,
  waitFor,
  waitForSettled,
} from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';
import { NotificationsRepository } from '../src/data-access/notifications-repository.ts';
import type { Channel } from '../src/domain/ports.ts';
import { NOTIFICATION_JOB, type NotificationJob } from '../src/entry-points/jobs/notification.job.ts';

/** A claim a replica made and took the delivery of, then died in it `ageMs` ago. */
interface DeadClaim {
  kind: Channel;
  version: string;
  payload: unknown;
  ageMs: number;
  traceparent?: string;
}

/**
 * What a replica that died leaves: it claimed notifications as the consumer does (row and job),
 * its job worker took their deliveries (held, never finished) and it died `ageMs` ago. Made before
 * the service starts, so that its own worker cannot take them first.
 */
async function deadReplica(pool: Pool, schema: string, leaseMs: number, claims: DeadClaim[]): Promise<void> {
  const queue = new JobQueue({
    pool,
    schema,
    logger: createLogger({ serviceName: 'dead', level: 'silent' }),
  });
  const job = queue.define<NotificationJob>({
    name: NOTIFICATION_JOB,
    retry: retryPolicy([]),
    leaseMs,
    span: () => ({ name: 'dead replica', attributes: {} }),
    run: () => new Promise<undefined>(() => undefined), // it dies in the attempt
  });
  await queue.start();
  const repo = new NotificationsRepository(pool);
  for (const [i, c] of claims.entries()) {
    const claimed = await repo.claim(c.kind, c.version, (tx) =>
      job.send(
        { kind: c.kind, key: c.version, payload: c.payload },
        { tx, traceparent: c.traceparent ?? null },
      ),
    );
    expect(claimed).toBe(true);
    // A round takes the delivery and never ends; the next round takes the next one.
    void queue.poll();
    await waitFor(
      async () =>
        (await queue.unfinished(NOTIFICATION_JOB)).filter((j) => j.state === 'active').length === i + 1
          ? true
          : undefined,
      { what: 'the dead replica holding its deliveries' },
    );
  }
  await queue.stop();
  // Its lease counts from when it took them (the job rows are pg-boss's: started_on is that time).
  for (const c of claims) {
    await pool.query(
      `UPDATE ${jobsSchema(schema)}.job SET started_on = started_on - $2::integer * interval '1 millisecond'
       WHERE name = $3 AND data->'data'->>'key' = $1`,
      [c.version, c.ageMs, NOTIFICATION_JOB],
    );
  }
}

/** A JSON log line of the notifier. */
type LogLine = Record<string, unknown> & {
  msg?: string;
  kind?: string;
  attempt?: number;
  dag_run_id?: string;
  task_id?: string;
  dataset_version?: string;
};

/** The contract every test declaration follows (a declaration's contract must be in the catalog). */

/** A dataset declaring one evaluation set, `<name>-eval`, whose notifications go to `notifications`. */
function declaration(name: string, notifications: Record<string, unknown>) {
  return {
    source: `datasets/${name}.yaml`,
    spec: {
      apiVersion: 'tributary/v1',
      kind: 'Dataset',
      name,
      owners: [`${name}-team`],
      contract: { name: 'penguins', versions: ['1.0.0'], current: '1.0.0' },
      refresh_jobs: [{ name: `${name}-eval`, schedule: null }],
      notifications,
    },
  };
}

/** A failed gate of `dataset` (an evaluation set), as the quality-gate emits it. */
function failedGate(dataset: string, version: string) {
  return {
    ...qualityEvaluatedFixture,
    event_id: newEventId(),
    dataset,
    dataset_version: version,
    passed: false,
    coverage_gaps: ['slice-rare'],
    metrics: [{ name: 'coverage', baseline: 1, value: 0.5, delta: -0.5, threshold: 1, passed: false }],
  };
}

const registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });
const kafka = createKafka({
  clientId: 'notifier-test',
  brokers: stackEnv.KAFKA_BROKERS.split(','),
  logger: createLogger({ serviceName: 'notifier-test', level: 'silent' }),
});

describe('notifier', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'notifier-test-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function start(
    opts: {
      slackFailures?: number;
      sendingLeaseMs?: number;
      retryDelaysMs?: string;
      /** Keep the service's log lines (info and above) in `logs` instead of writing them out. */
      captureLogs?: boolean;
      /** Claims a replica that died left, before the service starts. */
      deadClaims?: DeadClaim[];
      /** Runs once the service's schema is migrated, before the service starts (what an older release left). */
      beforeStart?: (pool: Pool) => Promise<void>;
    } = {},
  ) {
    const slack = await startJsonReceiver({ failFirst: opts.slackFailures ?? 0 });
    const ops = await startJsonReceiver();
    const producers = await startJsonReceiver();
    const pagerduty = await startJsonReceiver();
    const smtp = await startSmtpReceiver();
    const env = serviceEnv(
      isolatedServiceEnv('notifier', {
        SLACK_WEBHOOK_URL: slack.url,
        OPS_SLACK_WEBHOOK_URL: ops.url,
        PRODUCERS_SLACK_WEBHOOK_URL: producers.url,
        DEAD_LETTER_SERVICES: 'preprocessor,retrain-policy',
        PAGERDUTY_EVENTS_URL: pagerduty.url,
        PAGERDUTY_ROUTING_KEY: 'routing-key-ml-oncall',
        SMTP_HOST: smtp.host,
        SMTP_PORT: String(smtp.port),
        EVAL_DISTRIBUTION_LIST: 'eval-leads@example.com,priya@example.com',
        SHUTDOWN_GRACE_MS: '2000',
        NOTIFY_RETRY_DELAYS_MS: opts.retryDelaysMs ?? '300,300',
        NOTIFY_RETRY_POLL_MS: '100',
        ...(opts.sendingLeaseMs === undefined
          ? {}
          : { NOTIFY_SENDING_LEASE_MS: String(opts.sendingLeaseMs) }),
        ...(opts.captureLogs === true ? { LOG_LEVEL: 'info' } : {}),
      }),
    );
    const logs: LogLine[] = [];
    // pino writes one JSON line per write.
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as LogLine);
        done();
      },
    });
    const config = loadServiceConfig(env);
    const app = await buildApp(config, opts.captureLogs === true ? { logDestination: destination } : {});
    const pool = createPool({ url: stackEnv.DATABASE_URL, schema: env.DATABASE_SCHEMA! });
    if (opts.deadClaims) {
      await deadReplica(pool, env.DATABASE_SCHEMA!, config.NOTIFY_SENDING_LEASE_MS, opts.deadClaims);
    }
    await opts.beforeStart?.(pool);
    await app.start();
    const producer = new EventProducer(kafka, registry, env.TOPIC_PREFIX);
    await producer.connect();
    cleanup.push(async () => {
      await producer.disconnect();
      await app.stop();
      for (const schema of [env.DATABASE_SCHEMA!, jobsSchema(env.DATABASE_SCHEMA!), env.CATALOG_SCHEMA!]) {
        await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      }
      await pool.end();
      await Promise.all([smtp.close(), slack.close(), pagerduty.close(), ops.close(), producers.close()]);
    });
    /** The value of the service's `notifications_total` for a channel and outcome (0 when absent). */
    const metric = async (channel: string, outcome: string) => {
      const series = `notifications_total{channel="${channel}",outcome="${outcome}",service="notifier"}`;
      const line = (await app.runtime.metrics.registry.metrics())
        .split('\n')
        .find((l) => l.startsWith(`${series} `));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    /** The notification rows, `kind/dataset_version` → status and attempt. */
    const rows = async () => {
      const { rows } = await pool.query<{ id: string; status: string; attempt: number }>(
        `SELECT kind || '/' || dataset_version AS id, status, attempt FROM notifications`,
      );
      return Object.fromEntries(rows.map((r) => [r.id, { status: r.status, attempt: r.attempt }]));
    };
    /** Declares datasets in the service's catalog and waits until it loaded them. */
    const declare = (...datasets: ReturnType<typeof declaration>[]) =>
      applyDeclarations(app.runtime, datasets, 'notifier-test');
    /** A Slack receiver of a dataset's own channel, closed after the test. */
    const channel = async (failFirst = 0) => {
      const receiver = await startJsonReceiver({ failFirst });
      cleanup.push(() => receiver.close());
      return receiver;
    };
    return {
      app,
      logs,
      producer,
      declare,
      channel,
      slack,
      ops,
      producers,
      pagerduty,
      mails: smtp.mails,
      pool,
      metric,
      rows,
    };
  }

  /**
   * Waits until PagerDuty got a page and the one pagerduty notification row is sent, then until the
   * notifier settled (every event read, a retry poll since), when a duplicate page would have been sent.
   */
  async function pageSettled(svc: Awaited<ReturnType<typeof start>>): Promise<void> {
    await waitFor(() => (svc.pagerduty.bodies.length > 0 ? true : undefined), {
      what: 'page',
      timeoutMs: 30_000,
    });
    await waitFor(
      async () => {
        const { rows } = await svc.pool.query<{ status: string }>(
          `SELECT status FROM notifications WHERE kind = 'pagerduty'`,
        );
        return rows.length === 1 && rows[0]!.status === 'sent' ? true : undefined;
      },
      { what: 'notification row' },
    );
    await waitForSettled(svc.app);
  }

  it('when the notifier starts, then every notifications_total series is exported at 0 before any delivery', async () => {
    const svc = await start();
    // Scraped as Prometheus does: a series that first appears at 1 has no increase(), so the
    // TributaryNotificationsFailing page would miss the first failure after each start.
    const res = await svc.app.http.inject({ method: 'GET', url: '/metrics' });
    const series = res.body.split('\n').filter((l) => l.startsWith('notifications_total{'));
    const expected = ['slack', 'ops-slack', 'producers-slack', 'email', 'pagerduty'].flatMap((channel) =>
      ['sent', 'retrying', 'failed'].map(
        (outcome) => `notifications_total{channel="${channel}",outcome="${outcome}",service="notifier"} 0`,
      ),
    );
    expect(series.sort()).toEqual(expected.sort());
  });

  it('when a dataset is published, then Slack and the distribution list get the coverage gap highlights and report', async () => {
    const svc = await start();
    const reportFile = path.join(dir, 'quality_report.json');
    await writeFile(
      reportFile,
      JSON.stringify({
        baseline: 'baseline_eval_v1',
        coverage_gaps: ['slice-rare'],
        metrics: [{ metric: 'coverage', baseline: 1, value: 0.9, delta: -0.1, threshold: 0.8, pass: true }],
      }),
    );
    await svc.producer.publish(datasetPublished, {
      ...datasetPublishedFixture,
      event_id: newEventId(),
      dataset: 'eval',
      dataset_version: 'eval-v1',
      quality_report_uri: pathToFileURL(reportFile).href,
    });
    await waitFor(() => (svc.slack.bodies.length > 0 && svc.mails.length > 0 ? true : undefined), {
      what: 'slack and email',
      timeoutMs: 30_000,
    });
    const [slack] = svc.slack.bodies as { text: string; blocks: { type: string }[] }[];
    expect(slack!.text).toContain('eval-v1');
    expect(slack!.text).toContain('Coverage gaps: slice-rare');
    expect(slack!.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context']);

    const [mail] = svc.mails;
    expect(mail!.to.sort()).toEqual(['eval-leads@example.com', 'priya@example.com']);
    expect(mail!.raw).toContain('Subject: [tributary] Dataset eval eval-v1 published');
    expect(mail!.raw).toContain('coverage_gap_report.md');
    const markdown = attachedReport(mail!.raw);
    expect(markdown).toContain('# Coverage gap report — eval eval-v1');
    expect(markdown).toContain('- Published: ');
    expect(markdown).not.toContain('Not published');
    expect(markdown).toContain('- `slice-rare`');
    expect(markdown).toContain('| coverage | 1 | 0.9 | -0.1 | 0.8 | yes |');
    expect(svc.pagerduty.bodies).toHaveLength(0);
  });

  it('when the quality gate fails, then PagerDuty gets one P2 trigger even if the event is redelivered', async () => {
    const svc = await start();
    const failed = {
      ...qualityEvaluatedFixture,
      dataset: 'eval',
      dataset_version: 'eval-bad',
      passed: false,
      coverage_gaps: ['slice-rare'],
      metrics: [{ name: 'coverage', baseline: 1, value: 0.5, delta: -0.5, threshold: 1, passed: false }],
    };
    await svc.producer.publish(qualityEvaluated, { ...failed, event_id: newEventId() });
    await svc.producer.publish(qualityEvaluated, { ...failed, event_id: newEventId() });
    await svc.producer.publish(qualityEvaluated, {
      ...failed,
      event_id: newEventId(),
      dataset_version: 'eval-ok',
      passed: true,
    });
    await pageSettled(svc);
    expect(svc.pagerduty.bodies).toHaveLength(1);
    expect(svc.pagerduty.bodies[0]).toMatchObject({
      routing_key: 'routing-key-ml-oncall',
      event_action: 'trigger',
      dedup_key: 'eval-bad',
      payload: {
        source: 'tributary/quality-gate',
        severity: 'error',
        custom_details: { priority: 'P2', dataset_version: 'eval-bad', coverage_gaps: ['slice-rare'] },
      },
    });
    expect((svc.pagerduty.bodies[0]!.payload as { summary: string }).summary).toContain('coverage');

    // The evaluation leads are told too, once, with the failing metric and the gap report.
    await waitFor(() => (svc.slack.bodies.length > 0 && svc.mails.length > 0 ? true : undefined), {
      what: 'slack and email to the leads',
      timeoutMs: 30_000,
    });
    await waitForSettled(svc.app);
    expect(svc.slack.bodies).toHaveLength(1);
    const slack = svc.slack.bodies[0] as { text: string };
    expect(slack.text).toContain('Quality gate failed for eval eval-bad: not published');
    expect(slack.text).toContain('Below threshold: coverage');
    expect(slack.text).toContain('Coverage gaps: slice-rare');
    expect(svc.mails).toHaveLength(1);
    expect(svc.mails[0]!.to.sort()).toEqual(['eval-leads@example.com', 'priya@example.com']);
    const markdown = attachedReport(svc.mails[0]!.raw);
    expect(markdown).toContain('# Coverage gap report — eval eval-bad');
    expect(markdown).toContain('**Not published**');
    expect(markdown).toContain('| coverage | 1 | 0.5 | -0.5 | 1 | no |');
    expect(markdown).not.toContain('eval-ok');
  });

  it('when the refresh fails in ingest_sources, then PagerDuty gets one P2 trigger with the reason', async () => {
    const svc = await start();
    const reason = 'source canonical: checksum mismatch (expected sha256 0000, got 1111)';
    const failed = {
      ...qualityEvaluatedTaskFailedFixture,
      dataset: 'eval',
      dataset_version: 'eval-ingest-failed',
      failure_reason: reason,
    };
    await svc.producer.publish(qualityEvaluated, { ...failed, event_id: newEventId() });
    await svc.producer.publish(qualityEvaluated, { ...failed, event_id: newEventId() });
    await pageSettled(svc);
    expect(svc.pagerduty.bodies).toHaveLength(1);
    expect(svc.pagerduty.bodies[0]).toMatchObject({
      routing_key: 'routing-key-ml-oncall',
      event_action: 'trigger',
      dedup_key: 'eval-ingest-failed',
      payload: {
        source: 'tributary/quality-gate',
        severity: 'error',
        custom_details: {
          priority: 'P2',
          dataset_version: 'eval-ingest-failed',
          status: 'TASK_FAILED',
          failed_task: 'ingest_sources',
          failure_reason: reason,
          report_uri: null,
        },
      },
    });
    const summary = (svc.pagerduty.bodies[0]!.payload as { summary: string }).summary;
    expect(summary).toContain('ingest_sources');
    expect(summary).toContain('checksum mismatch');
    expect(svc.slack.bodies).toHaveLength(0);
    expect(svc.mails).toHaveLength(0);
  });

  it('when Slack fails once, then the message is retried later and delivered once, without holding the email', async () => {
    const svc = await start({ slackFailures: 1 });
    const reportFile = path.join(dir, 'retry_report.json');
    await writeFile(reportFile, JSON.stringify({ coverage_gaps: [], metrics: [] }));
    await svc.producer.publish(datasetPublished, {
      ...datasetPublishedFixture,
      event_id: newEventId(),
      dataset: 'eval',
      dataset_version: 'eval-retry',
      quality_report_uri: pathToFileURL(reportFile).href,
    });
    await waitFor(() => (svc.mails.length > 0 ? true : undefined), { what: 'email', timeoutMs: 30_000 });
    await waitFor(() => (svc.slack.bodies.length > 0 ? true : undefined), {
      what: 'slack retry',
      timeoutMs: 30_000,
    });
    const { rows } = await svc.pool.query<{ status: string; attempt: number }>(
      `SELECT status, attempt FROM notifications WHERE kind = 'slack'`,
    );
    expect(rows).toEqual([{ status: 'sent', attempt: 2 }]);
    await waitForSettled(svc.app);
    expect(svc.slack.bodies).toHaveLength(1);
    expect(svc.mails).toHaveLength(1);
    // What the TributaryNotificationsFailing alert and the dashboard read.
    expect(await svc.metric('slack', 'retrying')).toBe(1);
    expect(await svc.metric('slack', 'sent')).toBe(1);
    expect(await svc.metric('email', 'sent')).toBe(1);
    expect(await svc.metric('slack', 'failed')).toBe(0);
  });

  it('when a notification is retried or its dead claim taken again, then the retry log lines carry the run id, task and dataset version of its run', async () => {
    // A claim left by a replica that died: its recovery's lines are in the run's context as well.
    const deadRun = 'a'.repeat(32);
    const svc = await start({
      slackFailures: 2,
      captureLogs: true,
      deadClaims: [
        {
          kind: 'pagerduty',
          version: 'eval-dead-claim',
          payload: { routing_key: 'k', event_action: 'trigger', dedup_key: 'eval-dead-claim', payload: {} },
          ageMs: 600_000, // past the default lease (5 minutes)
          traceparent: `00-${deadRun}-${'b'.repeat(16)}-01`,
        },
      ],
    });
    const reportFile = path.join(dir, 'retry_context_report.json');
    await writeFile(reportFile, JSON.stringify({ coverage_gaps: [], metrics: [] }));
    // The run: the trace the event travels in (its traceparent header), as the publisher sends it.
    const runId = await withSpan('dataset_refresh run', {}, async (span) => {
      await svc.producer.publish(datasetPublished, {
        ...datasetPublishedFixture,
        event_id: newEventId(),
        dataset: 'eval',
        dataset_version: 'eval-retry-context',
        quality_report_uri: pathToFileURL(reportFile).href,
      });
      return span.spanContext().traceId;
    });
    // Attempt 1 in the consumer, 2 (fails again) and 3 (sent) by the retry poller.
    await waitFor(
      async () => ((await svc.rows())['slack/eval-retry-context']?.status === 'sent' ? true : undefined),
      {
        what: 'slack sent on its third attempt',
        timeoutMs: 30_000,
      },
    );
    const slackLines = svc.logs.filter((l) => l.kind === 'slack');
    expect(slackLines.map((l) => [l.msg, l.attempt])).toEqual([
      ['notification will be retried', 1],
      ['notification will be retried', 2],
      ['notification sent after a retry', 3],
    ]);
    for (const line of slackLines) {
      expect(line).toMatchObject({
        dag_run_id: runId,
        task_id: 'notify_stakeholders',
        dataset_version: 'eval-retry-context',
      });
    }

    await waitFor(
      async () => ((await svc.rows())['pagerduty/eval-dead-claim']?.status === 'sent' ? true : undefined),
      {
        what: 'recovered page sent',
        timeoutMs: 30_000,
      },
    );
    const recovered = svc.logs.filter((l) => l.kind === 'pagerduty');
    expect(recovered.map((l) => l.msg)).toEqual([
      'notification claim expired, sending it again',
      'notification sent after a retry',
    ]);
    for (const line of recovered) {
      expect(line).toMatchObject({
        dag_run_id: deadRun,
        task_id: 'notify_stakeholders',
        dataset_version: 'eval-dead-claim',
      });
    }
  });

  it('when a service dead-letters a message, then the operators channel gets one message naming it and the replay command', async () => {
    const svc = await start();
    const deadLetter = { ...deadLetterFixture, event_id: newEventId() };
    await svc.producer.publish(deadLetterEvent('preprocessor'), deadLetter);
    const [message] = await waitFor(() => (svc.ops.bodies.length > 0 ? svc.ops.bodies : undefined), {
      what: 'dead-letter message',
      timeoutMs: 30_000,
    });
    const text = JSON.stringify(message);
    expect(message!.text).toContain('preprocessor dead-lettered a message from batch.ingested [1:42]');
    expect(message!.text).toContain('EVT_ERR_UNKNOWN_SCHEMA');
    expect(text).toContain('tributary dlq replay --service preprocessor --offset ');
    expect(text).toContain(`run ${deadLetterFixture.run_id!}`);

    // A redelivery says nothing twice; the evaluation channel hears nothing of it.
    await svc.producer.publish(deadLetterEvent('preprocessor'), deadLetter);
    await waitForSettled(svc.app);
    expect(svc.ops.bodies).toHaveLength(1);
    expect(svc.slack.bodies).toHaveLength(0);
  });

  it('when a batch is rejected or partly quarantined, then the producers channel is told once each, with the report', async () => {
    const svc = await start();
    const rejected = {
      ...batchRejectedFixture,
      event_id: newEventId(),
      batch_id: 'penguins-bad',
      partial: false,
      error_code: 'ING_ERR_CHECKSUM_MISMATCH',
      reason: 'rows.csv: sha256 does not match the declaration',
      report_uri: 's3://lake/reports/penguins/penguins-bad/rejection.json',
    };
    const quarantined = {
      ...batchRejectedFixture,
      event_id: newEventId(),
      batch_id: 'penguins-some-bad',
      partial: true,
      rejected_rows: 6,
    };
    await svc.producer.publish(batchRejected, rejected);
    await svc.producer.publish(batchRejected, quarantined);
    await svc.producer.publish(batchRejected, rejected); // a redelivery
    const bodies = await waitFor(
      () => (svc.producers.bodies.length >= 2 ? svc.producers.bodies : undefined),
      {
        what: 'two producer messages',
        timeoutMs: 30_000,
      },
    );
    const texts = bodies.map((b) => String(b.text));
    const full = texts.find((t) => t.includes('penguins-bad'));
    expect(full).toContain('was rejected at');
    expect(full).toContain('ING_ERR_CHECKSUM_MISMATCH');
    expect(JSON.stringify(bodies)).toContain(rejected.report_uri);
    expect(texts.find((t) => t.includes('penguins-some-bad'))).toContain('6 row(s)');
    await waitForSettled(svc.app);
    expect(svc.producers.bodies).toHaveLength(2);
    expect(svc.slack.bodies).toHaveLength(0);
  });

  it('when the notifier died between claiming a page and sending it, then after the lease PagerDuty gets it once and a claim within its lease is left alone', async () => {
    const page = (version: string) => ({
      routing_key: 'routing-key-ml-oncall',
      event_action: 'trigger',
      dedup_key: version,
      payload: {
        summary: `Quality gate failed for eval ${version}: coverage`,
        source: 'x',
        severity: 'error',
      },
    });
    // One replica died a minute ago while sending a page; another is sending one right now.
    const svc = await start({
      sendingLeaseMs: 30_000,
      deadClaims: [
        { kind: 'pagerduty', version: 'eval-crashed', payload: page('eval-crashed'), ageMs: 60_000 },
        { kind: 'pagerduty', version: 'eval-in-flight', payload: page('eval-in-flight'), ageMs: 0 },
      ],
    });
    const failed = {
      ...qualityEvaluatedFixture,
      dataset: 'eval',
      passed: false,
      metrics: [{ name: 'coverage', baseline: 1, value: 0.5, delta: -0.5, threshold: 1, passed: false }],
    };
    // The redelivered event finds the claim taken; a later event on the partition shows it was read.
    await svc.producer.publish(qualityEvaluated, {
      ...failed,
      event_id: newEventId(),
      dataset_version: 'eval-crashed',
    });
    await svc.producer.publish(qualityEvaluated, {
      ...failed,
      event_id: newEventId(),
      dataset_version: 'eval-after',
    });
    await waitFor(
      async () => {
        const r = await svc.rows();
        return r['pagerduty/eval-crashed']?.status === 'sent' && r['pagerduty/eval-after']?.status === 'sent'
          ? true
          : undefined;
      },
      { what: 'the crashed page and the later one sent', timeoutMs: 30_000 },
    );
    await waitForSettled(svc.app);
    expect(svc.pagerduty.bodies.map((b) => b.dedup_key).sort()).toEqual(['eval-after', 'eval-crashed']);
    expect(svc.pagerduty.bodies.find((b) => b.dedup_key === 'eval-crashed')).toEqual(page('eval-crashed'));
    // (The failed gates also tell the leads on Slack and email: only the pages matter here.)
    const pages = Object.entries(await svc.rows()).filter(([id]) => id.startsWith('pagerduty/'));
    expect(Object.fromEntries(pages)).toEqual({
      'pagerduty/eval-crashed': { status: 'sent', attempt: 2 },
      'pagerduty/eval-after': { status: 'sent', attempt: 1 },
      'pagerduty/eval-in-flight': { status: 'sending', attempt: 1 },
    });
    expect(await svc.metric('pagerduty', 'sent')).toBe(2);
  });

  it('when the claim of a dead replica cannot be delivered, then it ends failed and is counted, at once when it has no payload to resend', async () => {
    const svc = await start({
      slackFailures: 100,
      sendingLeaseMs: 30_000,
      deadClaims: [
        {
          kind: 'slack',
          version: 'eval-lost',
          payload: { text: 'eval-lost published', blocks: [] },
          ageMs: 60_000,
        },
      ],
      // A claim made by the release before payloads were kept with it (and before jobs).
      beforeStart: async (pool) => {
        await pool.query(
          `INSERT INTO notifications (kind, dataset_version, status, claimed_at)
           VALUES ('email', 'eval-legacy', 'sending', now() - interval '1 minute')`,
        );
      },
    });
    await waitFor(
      async () => {
        const r = await svc.rows();
        return r['slack/eval-lost']?.status === 'failed' && r['email/eval-legacy']?.status === 'failed'
          ? true
          : undefined;
      },
      { what: 'both notifications failed', timeoutMs: 30_000 },
    );
    const { rows } = await svc.pool.query<{ id: string; attempt: number; last_error: string }>(
      `SELECT dataset_version AS id, attempt, last_error FROM notifications ORDER BY dataset_version`,
    );
    expect(rows).toEqual([
      { id: 'eval-legacy', attempt: 2, last_error: 'email claim expired without a payload to resend' },
      // Taken as attempt 2, then one retry (NOTIFY_RETRY_DELAYS_MS has two entries).
      {
        id: 'eval-lost',
        attempt: 3,
        last_error: 'slack failed after 3 attempts: Slack webhook answered 503: try later',
      },
    ]);
    expect(svc.slack.bodies).toHaveLength(0);
    // What pages through TributaryNotificationsFailing.
    expect(await svc.metric('slack', 'retrying')).toBe(1);
    expect(await svc.metric('slack', 'failed')).toBe(1);
    expect(await svc.metric('email', 'failed')).toBe(1);
  });

  it('when two datasets declare their evaluation sets, then a failed gate of each pages its routing key with its priority and tells its own Slack and list', async () => {
    const svc = await start();
    const [alphaSlack, betaSlack] = [await svc.channel(), await svc.channel()];
    await svc.declare(
      declaration('alpha', {
        slack_webhook: alphaSlack.url,
        email: ['alpha-leads@example.com'],
        pagerduty: { routing_key: 'routing-key-alpha', priority: 'P1' },
      }),
      declaration('beta', {
        slack_webhook: betaSlack.url,
        email: ['beta-leads@example.com', 'beta-oncall@example.com'],
        pagerduty: { routing_key: 'routing-key-beta', priority: 'P4' },
      }),
    );
    const reportFile = path.join(dir, 'alpha_report.json');
    await writeFile(reportFile, JSON.stringify({ coverage_gaps: [], metrics: [] }));
    await svc.producer.publish(qualityEvaluated, failedGate('alpha-eval', 'alpha-eval-bad'));
    await svc.producer.publish(qualityEvaluated, failedGate('beta-eval', 'beta-eval-bad'));
    await svc.producer.publish(datasetPublished, {
      ...datasetPublishedFixture,
      event_id: newEventId(),
      dataset: 'alpha-eval',
      dataset_version: 'alpha-eval-v1',
      quality_report_uri: pathToFileURL(reportFile).href,
    });
    await waitFor(
      () =>
        svc.pagerduty.bodies.length >= 2 &&
        alphaSlack.bodies.length >= 2 &&
        betaSlack.bodies.length >= 1 &&
        svc.mails.length >= 3
          ? true
          : undefined,
      { what: 'the pages, Slack messages and emails of both datasets', timeoutMs: 30_000 },
    );
    await waitForSettled(svc.app);

    const page = (version: string) => svc.pagerduty.bodies.find((b) => b.dedup_key === version);
    expect(svc.pagerduty.bodies).toHaveLength(2);
    expect(page('alpha-eval-bad')).toMatchObject({
      routing_key: 'routing-key-alpha',
      payload: {
        severity: 'critical',
        custom_details: { priority: 'P1', dataset: 'alpha-eval', declared_by: 'alpha' },
      },
    });
    expect(page('beta-eval-bad')).toMatchObject({
      routing_key: 'routing-key-beta',
      payload: {
        severity: 'info',
        custom_details: { priority: 'P4', dataset: 'beta-eval', declared_by: 'beta' },
      },
    });

    const texts = (bodies: Record<string, unknown>[]) => bodies.map((b) => String(b.text)).sort();
    expect(texts(alphaSlack.bodies)).toEqual([
      expect.stringContaining('Dataset alpha-eval alpha-eval-v1 published') as unknown,
      expect.stringContaining('Quality gate failed for alpha-eval alpha-eval-bad') as unknown,
    ]);
    expect(texts(betaSlack.bodies)).toEqual([
      expect.stringContaining('Quality gate failed for beta-eval beta-eval-bad') as unknown,
    ]);
    expect(svc.slack.bodies).toHaveLength(0); // the deployment's default channel

    const mails = svc.mails.map((m) => ({
      to: [...m.to].sort(),
      subject: subjectOf(m.raw),
    }));
    expect(mails.sort((a, b) => a.subject.localeCompare(b.subject))).toEqual([
      { to: ['alpha-leads@example.com'], subject: '[tributary] Dataset alpha-eval alpha-eval-v1 published' },
      {
        to: ['alpha-leads@example.com'],
        subject: '[tributary] Quality gate failed for alpha-eval alpha-eval-bad: not published',
      },
      {
        to: ['beta-leads@example.com', 'beta-oncall@example.com'],
        subject: '[tributary] Quality gate failed for beta-eval beta-eval-bad: not published',
      },
    ]);
  });

  it('when an evaluation set is undeclared or its dataset declares only an email list, then the other routes are the deployment defaults', async () => {
    const svc = await start();
    await svc.declare(declaration('gamma', { email: ['gamma-leads@example.com'] }));
    await svc.producer.publish(qualityEvaluated, failedGate('eval', 'eval-undeclared'));
    await svc.producer.publish(qualityEvaluated, failedGate('gamma-eval', 'gamma-eval-bad'));
    await waitFor(
      () =>
        svc.pagerduty.bodies.length >= 2 && svc.slack.bodies.length >= 2 && svc.mails.length >= 2
          ? true
          : undefined,
      { what: 'pages, Slack messages and emails', timeoutMs: 30_000 },
    );
    await waitForSettled(svc.app);

    const page = (version: string) => svc.pagerduty.bodies.find((b) => b.dedup_key === version);
    expect(svc.pagerduty.bodies).toHaveLength(2);
    expect(page('eval-undeclared')).toMatchObject({
      routing_key: 'routing-key-ml-oncall',
      payload: { severity: 'error', custom_details: { priority: 'P2', declared_by: null } },
    });
    expect(page('gamma-eval-bad')).toMatchObject({
      routing_key: 'routing-key-ml-oncall',
      payload: { severity: 'error', custom_details: { priority: 'P2', declared_by: 'gamma' } },
    });
    expect(svc.slack.bodies.map((b) => String(b.text)).sort()).toEqual([
      expect.stringContaining('Quality gate failed for eval eval-undeclared') as unknown,
      expect.stringContaining('Quality gate failed for gamma-eval gamma-eval-bad') as unknown,
    ]);
    const recipients = (version: string) =>
      svc.mails.find((m) => subjectOf(m.raw).includes(`${version}: not published`))?.to.sort();
    expect(svc.mails).toHaveLength(2);
    expect(recipients('eval-undeclared')).toEqual(['eval-leads@example.com', 'priya@example.com']);
    expect(recipients('gamma-eval-bad')).toEqual(['gamma-leads@example.com']);
  });

  it('when a declaration is re-applied with new routes, then the next notification takes them without a restart and a parked retry keeps the routes it was claimed with', async () => {
    // The retry is due well after the re-applied declaration has reached the service.
    const svc = await start({ retryDelaysMs: '6000,6000' });
    const [oldSlack, newSlack] = [await svc.channel(1), await svc.channel()];
    await svc.declare(
      declaration('delta', {
        slack_webhook: oldSlack.url,
        email: ['delta-old@example.com'],
        pagerduty: { routing_key: 'routing-key-delta-old', priority: 'P3' },
      }),
    );
    await svc.producer.publish(qualityEvaluated, failedGate('delta-eval', 'delta-eval-1'));
    await waitFor(
      async () =>
        (await svc.rows())['slack/delta-eval-1']?.status === 'retrying' && svc.mails.length === 1
          ? true
          : undefined,
      { what: 'the Slack message parked for a retry', timeoutMs: 30_000 },
    );

    await svc.declare(
      declaration('delta', {
        slack_webhook: newSlack.url,
        email: ['delta-new@example.com'],
        pagerduty: { routing_key: 'routing-key-delta-new', priority: 'P1' },
      }),
    );
    expect((await svc.rows())['slack/delta-eval-1']?.status).toBe('retrying'); // not due yet
    await svc.producer.publish(qualityEvaluated, failedGate('delta-eval', 'delta-eval-2'));
    await waitFor(
      async () => {
        const rows = await svc.rows();
        return rows['slack/delta-eval-1']?.status === 'sent' &&
          rows['slack/delta-eval-2']?.status === 'sent' &&
          svc.pagerduty.bodies.length >= 2 &&
          svc.mails.length >= 2
          ? true
          : undefined;
      },
      { what: 'the retry and the next notification sent', timeoutMs: 30_000 },
    );

    // The retry went where the first attempt did; the next notification to the new routes.
    expect(oldSlack.bodies.map((b) => String(b.text))).toEqual([
      expect.stringContaining('delta-eval-1') as unknown,
    ]);
    expect(newSlack.bodies.map((b) => String(b.text))).toEqual([
      expect.stringContaining('delta-eval-2') as unknown,
    ]);
    expect((await svc.rows())['slack/delta-eval-1']).toEqual({ status: 'sent', attempt: 2 });
    const page = (version: string) => svc.pagerduty.bodies.find((b) => b.dedup_key === version);
    expect(page('delta-eval-1')).toMatchObject({
      routing_key: 'routing-key-delta-old',
      payload: { severity: 'warning', custom_details: { priority: 'P3' } },
    });
    expect(page('delta-eval-2')).toMatchObject({
      routing_key: 'routing-key-delta-new',
      payload: { severity: 'critical', custom_details: { priority: 'P1' } },
    });
    const recipients = (version: string) =>
      svc.mails.find((m) => subjectOf(m.raw).includes(`${version}: not published`))?.to;
    expect(recipients('delta-eval-1')).toEqual(['delta-old@example.com']);
    expect(recipients('delta-eval-2')).toEqual(['delta-new@example.com']);
    expect(svc.slack.bodies).toHaveLength(0);
  });
});

/** The coverage_gap_report.md attached to a raw MIME mail (plain or base64). */
function attachedReport(raw: string): string {
  const attachment =
    /Content-Disposition: attachment; filename=coverage_gap_report\.md\r?\n\r?\n([\s\S]*?)\r?\n--/i.exec(raw);
  expect(attachment).not.toBeNull();
  return attachment![1]!.includes(' ') ? attachment![1]! : Buffer.from(attachment![1]!, 'base64').toString();
}

/** The Subject header of a raw mail, unfolded (long headers are folded over lines). */
function subjectOf(raw: string): string {
  const unfolded = raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n(?=[ \t])/g, '');
  return /^Subject: (.*)$/m.exec(unfolded)?.[1]?.trim() ?? '';
}
