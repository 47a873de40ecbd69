/**
 * End to end: a real batch goes from `batch.ready` through all six services — each a separate
 * process, as deployed — to `retrain.requested` and to `dataset.published` with its notification;
 * then Jaeger is asked for the run's trace (one trace, spans of every service, parents in order),
 * `tributary lineage` for its chain, and Prometheus for the services' metrics.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { EventRegistry, retrainRequested, type RetrainRequested } from '@tributary/events';
import {
  collectMessages,
  freePort,
  runTributary,
  stackEnv,
  testKafka,
  waitFor,
  writeSampleBatch,
} from '@tributary/testing';
import {
  FIRST_MASTER_ROWS,
  PIPELINE_SERVICES as SERVICES,
  startPipeline,
  type Pipeline,
} from './support/pipeline.ts';

interface JaegerSpan {
  spanID: string;
  operationName: string;
  tags: { key: string; type: string; value: unknown }[];
  processID: string;
  references: { refType: string; spanID: string }[];
  startTime: number;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

interface Link {
  kind: string;
  state: string;
  id: string | null;
  location: string | null;
  checksum: string | null;
  runId: string | null;
}

let pipeline: Pipeline;
let prefix = '';
/** The retrain request of the first batch, whose chain the lineage test reads. */
let firstRequest: RetrainRequested;

/** Runs the CLI against this pipeline's preprocessor. */
const tributary = (args: string[]) =>
  runTributary(args, {
    TRIBUTARY_ADMIN_TOKEN: pipeline.adminToken,
    TRIBUTARY_PREPROCESSOR_URL: pipeline.url('preprocessor'),
  });

beforeAll(async () => {
  pipeline = await startPipeline('e2e', {
    OTEL_EXPORTER_OTLP_ENDPOINT: stackEnv.OTEL_EXPORTER_OTLP_ENDPOINT,
  });
  prefix = pipeline.prefix;
}, 300_000); // six processes start side by side on a busy machine

afterAll(async () => {
  await pipeline?.stop();
});

describe('a batch through the pipeline', () => {
  it('when a batch is submitted, then it ends as a retrain request and Jaeger holds the whole run as one trace', async () => {
    const batch = await writeSampleBatch(join(pipeline.work, 'batch-1'), {
      count: FIRST_MASTER_ROWS,
      images: 3,
    });
    const request = await pipeline.submitAndAwaitRetrain(batch, 'e2e-batch-1');
    firstRequest = request;
    expect(request).toMatchObject({
      dataset: 'penguins',
      model_name: pipeline.model,
      master_version: 1,
      current_master_rows: 25,
      new_rows: 25,
      threshold_rows: 1,
    });

    // The refresh the new master triggered was published, and the notifier told the channel.
    const published = await pipeline.awaitPublished(1);
    expect(published.run_id).toBe(request.run_id);
    // The gate read the master version the preprocessor wrote, checked against its DVC checksum.
    const report = JSON.parse(readFileSync(fileURLToPath(published.quality_report_uri), 'utf8')) as {
      sources: Record<string, unknown>[];
    };
    expect(report.sources).toContainEqual(
      expect.objectContaining({
        name: 'master',
        master_version: 1,
        checksum: request.master_checksum,
        rows: 25,
      }),
    );
    // Penguins declares a Slack channel of its own: the announcement goes there, not to the default.
    const announced = await waitFor(
      () =>
        pipeline.penguinsSlack.bodies.find((b) => JSON.stringify(b).includes(published.dataset_version)) ??
        undefined,
      { timeoutMs: 60_000, what: 'Slack message of the published version' },
    );
    expect(announced).toBeDefined();
    expect(
      pipeline.slack.bodies.filter((b) => JSON.stringify(b).includes(published.dataset_version)),
    ).toEqual([]);

    // The run id is the trace id: Jaeger must hold spans of all six services under it.
    const LAST_SPANS = [
      `retrain-policy:${prefix}master.versioned process`,
      `notifier:${prefix}dataset.published process`,
      'notifier:notify_stakeholders',
      'publisher:archive_artifacts',
      'quality-gate:quality_gate',
      'preprocessor:preprocess.merge',
    ];
    const trace = await waitFor(
      async () => {
        const res = await fetch(`${stackEnv.JAEGER_QUERY_URL}/api/traces/${request.run_id}`);
        if (!res.ok) return undefined;
        const body = (await res.json()) as { data: JaegerTrace[] };
        const t = body.data[0];
        if (!t) return undefined;
        // Each service exports its spans in batches: wait for the last ones and for every parent.
        const ops = new Set(
          t.spans.map((span) => `${t.processes[span.processID]?.serviceName}:${span.operationName}`),
        );
        const ids = new Set(t.spans.map((span) => span.spanID));
        const complete = t.spans.every((span) =>
          span.references.every((r) => r.refType !== 'CHILD_OF' || ids.has(r.spanID)),
        );
        return complete && LAST_SPANS.every((op) => ops.has(op)) ? t : undefined;
      },
      { timeoutMs: 30_000, what: `trace ${request.run_id} in Jaeger, complete, with every service` },
    );
    expect(trace.traceID).toBe(request.run_id);
    expect(new Set(Object.values(trace.processes).map((p) => p.serviceName))).toEqual(new Set(SERVICES));

    const serviceOf = (span: JaegerSpan) => trace.processes[span.processID]!.serviceName;
    const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
    const parentOf = (span: JaegerSpan) =>
      byId.get(span.references.find((r) => r.refType === 'CHILD_OF')?.spanID ?? '');
    const ancestry = (span: JaegerSpan) => {
      const chain: string[] = [];
      for (let s: JaegerSpan | undefined = span; s; s = parentOf(s)) chain.unshift(serviceOf(s));
      return chain.filter((svc, i) => chain[i - 1] !== svc);
    };
    // The retrain policy's consumer span descends from the preprocessor's, which descends from the ingestor's.
    const decision = trace.spans.find(
      (s) => serviceOf(s) === 'retrain-policy' && s.operationName === `${prefix}master.versioned process`,
    );
    expect(decision, 'retrain-policy consumer span').toBeDefined();
    expect(ancestry(decision!)).toEqual(['ingestor', 'preprocessor', 'retrain-policy']);
    // The refresh branch: the notifier's span descends from the publisher's, the quality-gate's, and so on.
    const notice = trace.spans.find(
      (s) => serviceOf(s) === 'notifier' && s.operationName === `${prefix}dataset.published process`,
    );
    expect(notice, 'notifier consumer span').toBeDefined();
    expect(ancestry(notice!)).toEqual(['ingestor', 'preprocessor', 'quality-gate', 'publisher', 'notifier']);
    // The preprocessor's seed tasks have spans of their own, under its consumer span.
    const preprocessorOps = trace.spans
      .filter((s) => serviceOf(s) === 'preprocessor')
      .map((s) => s.operationName);
    expect(preprocessorOps).toEqual(expect.arrayContaining(['preprocess.validate', 'preprocess.merge']));
    // So do the refresh's: each under its service, with the run's dataset version on it.
    const opsOf = (service: string) =>
      trace.spans.filter((s) => serviceOf(s) === service).map((s) => s.operationName);
    expect(opsOf('quality-gate')).toEqual(
      expect.arrayContaining(['ingest_sources', 'generate_candidate', 'quality_gate']),
    );
    expect(opsOf('publisher')).toEqual(expect.arrayContaining(['publish_dataset', 'archive_artifacts']));
    expect(opsOf('notifier')).toContain('notify_stakeholders');
    const gateSpan = trace.spans.find((s) => s.operationName === 'quality_gate')!;
    expect(gateSpan.tags).toEqual(
      expect.arrayContaining([
        { key: 'tributary.dataset_version', type: 'string', value: published.dataset_version },
        { key: 'tributary.gate_passed', type: 'bool', value: true },
      ]),
    );
    // Exactly one root: the ingestor's consumption of batch.ready.
    const roots = trace.spans.filter((s) => !parentOf(s));
    expect(roots.map((s) => `${serviceOf(s)}:${s.operationName}`)).toEqual([
      `ingestor:${prefix}batch.ready process`,
    ]);
  }, 240_000);

  it('when the run is logged, then every service wrote lines of it, each with the run id, trace id and span id, and no secret', () => {
    const runId = firstRequest.run_id;
    const lines = pipeline.procs
      .flatMap((p) => p.stdout().split('\n'))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const ofRun = lines.filter((l) => l.trace_id === runId || l.dag_run_id === runId);
    expect(new Set(ofRun.map((l) => l.service))).toEqual(new Set(SERVICES));
    for (const line of ofRun) {
      expect(line, JSON.stringify(line)).toMatchObject({ dag_run_id: runId, trace_id: runId });
      expect(line.span_id, JSON.stringify(line)).toMatch(/^[0-9a-f]{16}$/);
    }
    // A line that names the batch belongs to its run, whichever service wrote it.
    const naming = lines.filter((l) => JSON.stringify(l).includes('e2e-batch-1'));
    expect(naming.length).toBeGreaterThan(0);
    for (const line of naming) expect(line.dag_run_id, JSON.stringify(line)).toBe(runId);
    const output = pipeline.procs.map((p) => `${p.stdout()}${p.stderr()}`).join('\n');
    expect(output).not.toContain(pipeline.adminToken);
  });

  it('when a batch went all the way, then tributary lineage returns its whole chain under one trace id', async () => {
    // By batch id, as JSON: every link found, each carrying the run id of e2e-batch-1.
    const byBatch = await tributary(['lineage', '--batch', 'e2e-batch-1', '--json']);
    expect(byBatch.code, byBatch.stderr).toBe(0);
    const lineage = JSON.parse(byBatch.stdout) as { dataset: string; traceIds: string[]; links: Link[] };
    expect(lineage.dataset).toBe('penguins');
    expect(lineage.links.map((l) => [l.kind, l.state])).toEqual([
      ['batch', 'found'],
      ['raw snapshot', 'found'],
      ['master version', 'found'],
      ['quality report', 'found'],
      ['published manifest', 'found'],
      ['retrain request', 'found'],
    ]);
    expect(lineage.traceIds).toHaveLength(1);
    const [runId] = lineage.traceIds;
    for (const link of lineage.links) expect(link.runId, link.kind).toBe(runId);
    const byKind = new Map(lineage.links.map((l) => [l.kind, l]));
    const published = await pipeline.awaitPublished(1);
    expect(runId).toBe(published.run_id);
    expect(byKind.get('master version')).toMatchObject({
      id: 'penguins@1',
      location: firstRequest.master_location,
      checksum: firstRequest.master_checksum,
    });
    expect(byKind.get('retrain request')).toMatchObject({ id: firstRequest.event_id });
    expect(byKind.get('published manifest')).toMatchObject({
      id: published.dataset_version,
      location: published.manifest_uri,
      checksum: published.checksum,
    });
    expect(byKind.get('quality report')).toMatchObject({ id: published.dataset_version });
    expect(byKind.get('raw snapshot')?.checksum).toBeTruthy();

    // From the published dataset version, as text: the same chain.
    const text = await tributary(['lineage', '--dataset-version', published.dataset_version]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`trace id: ${runId}`);
    expect(text.stdout).toContain('→ batch: e2e-batch-1');
    expect(text.stdout).toContain('→ master version: penguins@1');
    expect(text.stdout).toContain(`→ published manifest: ${published.dataset_version}`);

    // An unknown batch is a clear error, not an empty chain.
    const unknown = await tributary(['lineage', '--batch', 'no-such-batch']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('PRE_ERR_LINEAGE_NOT_FOUND');
  }, 120_000);

  it('when batches come through the HTTP upload (CLI) and the landing zone, then each becomes the next master version', async () => {
    const requests = await collectMessages(testKafka(), `${prefix}${retrainRequested.topic}`);
    const registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });

    const uploaded = await writeSampleBatch(join(pipeline.work, 'batch-2'), {
      offset: 25,
      count: 10,
      images: 2,
    });
    const submitted = await runTributary([
      'submit',
      uploaded.dir,
      '--dataset',
      'penguins',
      '--contract',
      'penguins@1.0.0',
      '--url',
      pipeline.url('ingestor'),
      '--wait',
    ]);
    expect(submitted.code, submitted.stderr).toBe(0);
    await requests.waitForMessages(2, 120_000);

    // The seed's protocol: files in <LANDING_DIR>/<dataset>/<batch_id>/, then a _READY marker.
    const dropped = join(pipeline.landing, 'penguins', 'landing-batch-3');
    await writeSampleBatch(dropped, { offset: 35, count: 5 });
    writeFileSync(join(dropped, '_READY'), '');
    const messages = await requests.waitForMessages(3, 120_000);
    await requests.stop();

    const decoded = await Promise.all(messages.map((m) => registry.decode(retrainRequested, m.value!)));
    const byVersion = decoded.sort((a, b) => a.master_version - b.master_version);
    expect(byVersion.map((r) => [r.master_version, r.current_master_rows])).toEqual([
      [1, 25],
      [2, 35],
      [3, 40],
    ]);
    // The producer's folder settles once the real preprocessor merged it, naming the version.
    const done = await waitFor(
      () => {
        try {
          return JSON.parse(readFileSync(join(dropped, '_DONE'), 'utf8')) as Record<string, unknown>;
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 30_000, what: 'the landing batch _DONE' },
    );
    expect(done).toMatchObject({ status: 'MERGED', batch_id: 'landing-batch-3', master_version: 3 });
  }, 300_000);

  it('when Prometheus scrapes the services, then it reads their dag_status from its own API', async () => {
    // Debian's Prometheus with a configuration like deploy/prometheus/prometheus.yml, pointed at this run's ports.
    const dir = mkdtempSync(join(tmpdir(), 'tributary-prom-'));
    const promPort = await freePort();
    const targets = SERVICES.map(
      (svc) =>
        `      - targets: ['127.0.0.1:${pipeline.ports.get(svc)}']\n        labels: { service: ${svc} }`,
    );
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: tributary\n    static_configs:\n${targets.join('\n')}\n`,
    );
    const prom = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: 'ignore' },
    );
    try {
      const query = async (q: string) => {
        const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
        if (!res.ok) return undefined;
        const body = (await res.json()) as {
          data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
        return body.data.result;
      };
      const up = await waitFor(
        async () =>
          (await query('up{job="tributary"} == 1'))?.length === SERVICES.length ? true : undefined,
        { timeoutMs: 30_000, what: 'all six services up in Prometheus' },
      );
      expect(up).toBe(true);
      const statuses = await waitFor(
        async () => {
          const result = await query('dag_status{dag="retrain_policy"}');
          return result && result.length > 0 ? result : undefined;
        },
        { timeoutMs: 30_000, what: 'dag_status in Prometheus' },
      );
      expect(statuses[0]!.metric).toMatchObject({
        service: 'retrain-policy',
        dag: 'retrain_policy',
        status: 'success',
      });
      expect(Number(statuses[0]!.value[1])).toBeGreaterThanOrEqual(1);
    } finally {
      prom.kill('SIGTERM');
    }
  }, 90_000);

  it('when batches of the other declared datasets merge, then each master version requests only its own models, and the dataset without a retrain policy none', async () => {
    const requests = await collectMessages(testKafka(), `${prefix}${retrainRequested.topic}`);
    const registry = new EventRegistry({ url: stackEnv.SCHEMA_REGISTRY_URL });
    const weather = join(pipeline.work, 'weather-1');
    mkdirSync(weather, { recursive: true });
    writeFileSync(
      join(weather, 'weather.csv'),
      'date,precipitation,temp_max,temp_min,wind,weather\n2012-01-01,0.0,12.8,5.0,4.7,drizzle\n2012-01-02,10.9,10.6,2.8,4.5,rain\n',
    );
    const flights = join(pipeline.work, 'flights-1');
    mkdirSync(flights, { recursive: true });
    writeFileSync(
      join(flights, 'flights.csv'),
      'id,date,delay,distance,origin,destination\n1,2001-01-01T06:00:00Z,-3,405,SEA,SFO\n2,2001-01-01T07:30:00Z,12,1180,SFO,DEN\n',
    );
    for (const [dir, dataset] of [
      [weather, 'seattle-weather'],
      [flights, 'flights'],
    ] as const) {
      // No --contract: the declaration's current version is used.
      const submitted = await runTributary(
        [
          'submit',
          dir,
          '--dataset',
          dataset,
          '--url',
          pipeline.url('ingestor'),
          '--wait',
          '--until',
          'merged',
        ],
        { TRIBUTARY_ADMIN_TOKEN: pipeline.adminToken },
      );
      expect(submitted.code, submitted.stdout + submitted.stderr).toBe(0);
      expect(submitted.stdout).toContain('merged: master version 1');
    }

    const decisions = async (dataset: string) => {
      const res = await fetch(`${pipeline.url('retrain-policy')}/admin/decisions?dataset=${dataset}`, {
        headers: { authorization: `Bearer ${pipeline.adminToken}` },
      });
      return ((await res.json()) as { decisions: { outcome: string; modelName: string | null }[] }).decisions;
    };
    const [weatherDecision] = await waitFor(
      async () =>
        (await decisions('seattle-weather')).length > 0 ? decisions('seattle-weather') : undefined,
      {
        timeoutMs: 60_000,
        what: 'the decision on the weather master version',
      },
    );
    expect(weatherDecision).toMatchObject({ outcome: 'no_retrain_policy', modelName: null });

    // Penguins' three versions, then flights' first: each for its own model only.
    const messages = await requests.waitForMessages(4, 120_000);
    await requests.stop();
    const decoded = await Promise.all(messages.map((m) => registry.decode(retrainRequested, m.value!)));
    expect(decoded.map((r) => [r.dataset, r.model_name]).sort()).toEqual([
      ['flights', pipeline.flightsModel],
      ['penguins', pipeline.model],
      ['penguins', pipeline.model],
      ['penguins', pipeline.model],
    ]);
  }, 300_000);

  it('when an ML scientist raises a gate threshold with tributary datasets apply, then the next refresh uses it without a restart and the audit names who and what', async () => {
    const file = join(pipeline.work, 'datasets', 'penguins.yaml');
    const declaration = parse(readFileSync(file, 'utf8')) as {
      refresh_jobs: { gate?: Record<string, number> }[];
    };
    declaration.refresh_jobs[0]!.gate = { ...declaration.refresh_jobs[0]!.gate, min_diversity: 0.99 };
    writeFileSync(file, stringify(declaration));
    const env = { TRIBUTARY_ADMIN_TOKEN: pipeline.adminToken };
    const applied = await runTributary(
      [
        'datasets',
        'apply',
        join(pipeline.work, 'datasets'),
        '--url',
        pipeline.url('ingestor'),
        '--actor',
        'ml-scientist',
      ],
      env,
    );
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('refresh_jobs.0.gate.min_diversity: 0.3 -> 0.99');

    // The gate's next run (started by hand) reads the threshold from the catalog at its start.
    const run = await runTributary(
      ['refresh', 'run', '--job', 'penguins', '--url', pipeline.url('quality-gate')],
      env,
    );
    const body = JSON.parse(run.stdout) as { reportUri: string };
    const report = JSON.parse(readFileSync(fileURLToPath(body.reportUri), 'utf8')) as {
      metrics: { metric: string; threshold: number; pass: boolean }[];
      job: { origin: string };
    };
    expect(report.job.origin).toBe('catalog');
    expect(report.metrics.find((m) => m.metric === 'diversity')).toMatchObject({
      threshold: 0.99,
      pass: false,
    });
    expect(run.code).toBe(1);

    const history = await runTributary(
      ['datasets', 'history', 'penguins', '--json', '--url', pipeline.url('ingestor')],
      env,
    );
    const [latest] = JSON.parse(history.stdout) as {
      actor: string;
      diff: { path: string; from: number; to: number }[];
    }[];
    expect(latest).toMatchObject({ actor: 'ml-scientist' });
    expect(latest!.diff).toEqual([{ path: 'refresh_jobs.0.gate.min_diversity', from: 0.3, to: 0.99 }]);
  }, 300_000);
});
