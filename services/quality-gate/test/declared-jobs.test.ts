/**
 * One quality-gate deployment runs every refresh job declared in the catalog: no refresh settings
 * in its environment, the jobs applied to the catalog the way `tributary datasets apply` does.
 */
import { readFile, rename } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { CatalogStore } from '@tributary/catalog';
import { createPool } from '@tributary/db';
import { masterVersioned, newEventId, type QualityEvaluated } from '@tributary/events';
import { masterVersionedFixture } from '@tributary/events/fixtures';
import { isolatedServiceEnv, serviceEnv, stackEnv, waitFor } from '@tributary/testing';
import type { BaselineChange } from '../src/data-access/baselines-repository.ts';
import type { MetricResult, RefreshRun } from '../src/domain/ports.ts';
import {
  ADMIN_TOKEN,
  AUTH,
  gateProducer,
  passingBaseline,
  sourceRows,
  startGate,
  storedRuns,
  workspace,
  type RunningGate,
  type Workspace,
} from './harness.ts';

const CONTRACT = {
  source: 'contracts/penguins/1.0.0.yaml',
  spec: parse(
    await readFile(new URL('../../../contracts/penguins/1.0.0.yaml', import.meta.url), 'utf8'),
  ) as unknown,
};

interface Report {
  dataset: string;
  dataset_version: string;
  baseline: string;
  passed: boolean;
  metrics: MetricResult[];
  job: {
    name: string;
    dataset: string;
    origin: string;
    catalog_revision: number | null;
    settings: { gate: Record<string, number> };
  };
}

/** Gate thresholds as the declaration spells them. */
type Gate = {
  min_coverage: number;
  min_diversity: number;
  max_toxicity: number;
  max_psi: number;
  max_ks: number;
};

const STRICT: Gate = { min_coverage: 1, min_diversity: 0.3, max_toxicity: 0.01, max_psi: 0.2, max_ks: 0.2 };
const LENIENT: Gate = {
  min_coverage: 0.5,
  min_diversity: 0.1,
  max_toxicity: 0.05,
  max_psi: 0.4,
  max_ks: 0.3,
};

/** The threshold of each metric of a report or event, by metric name. */
function thresholdsOf(
  metrics: { metric?: string; name?: string; threshold: number }[],
): Record<string, number> {
  return Object.fromEntries(metrics.map((m): [string, number] => [m.metric ?? m.name ?? '', m.threshold]));
}

function expectedThresholds(gate: Gate) {
  return {
    coverage: gate.min_coverage,
    diversity: gate.min_diversity,
    toxicity: gate.max_toxicity,
    'drift_psi:label': gate.max_psi,
    'drift_ks:length': gate.max_ks,
  };
}

describe('quality-gate declared refresh jobs', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  /** A gate with no refresh settings at all (deployment settings only), and its catalog. */
  async function declaredGate(extra: Record<string, string> = {}, replicas = 1) {
    const ws: Workspace = await workspace();
    cleanup.push(() => ws.remove());
    const source = await ws.source('canonical', sourceRows());
    const env = serviceEnv(
      isolatedServiceEnv('quality-gate', {
        ADMIN_TOKEN,
        REFRESH_STORE_URI: ws.storeUri,
        REFRESH_SCHEDULE_ENABLED: 'false',
        CATALOG_REFRESH_MS: '200',
        SHUTDOWN_GRACE_MS: '2000',
        ...extra,
      }),
    );
    const gates: RunningGate[] = [];
    for (let i = 0; i < replicas; i++) gates.push(await startGate(env));
    cleanup.push(async () => {
      for (const g of [...gates].reverse()) await g.stop(false);
      await storedRuns(env.DATABASE_SCHEMA!, true);
      const pool = createPool({ url: stackEnv.DATABASE_URL, schema: env.CATALOG_SCHEMA! });
      await pool.query(`DROP SCHEMA IF EXISTS ${env.CATALOG_SCHEMA!} CASCADE`).catch(() => undefined);
      await pool.end();
    });
    const gate = gates[0]!;
    const store: CatalogStore = gate.app.runtime.catalogStore;
    /** A refresh job reading the canonical source, with its own baseline seeded from the declaration. */
    const job = (name: string, gateThresholds: Gate, more: Record<string, unknown> = {}) => ({
      name,
      schedule: null,
      sources: [source],
      gate: gateThresholds,
      baseline: { name: `${name}_baseline`, seed: passingBaseline() },
      ...more,
    });
    const declare = (name: string, jobs: object[], actor = 'test') =>
      store.apply({
        datasets: [
          {
            source: `datasets/${name}.yaml`,
            spec: {
              apiVersion: 'tributary/v1',
              kind: 'Dataset',
              name,
              owners: ['eval-team'],
              contract: { name: 'penguins', versions: ['1.0.0'], current: '1.0.0' },
              refresh_jobs: jobs,
            },
          },
        ],
        contracts: [CONTRACT],
        actor,
      });
    const refresh = async (body: object, on = gate) => {
      const res = await on.app.http.inject({
        method: 'POST',
        url: '/admin/refresh',
        headers: AUTH,
        payload: body,
      });
      return { statusCode: res.statusCode, run: res.json<RefreshRun>() };
    };
    const get = async <T>(url: string, on = gate): Promise<T> => {
      const res = await on.app.http.inject({ method: 'GET', url, headers: AUTH });
      expect(res.statusCode).toBe(200);
      return res.json<T>();
    };
    const report = async (run: RefreshRun) => JSON.parse(await ws.readStore(run.reportUri!)) as Report;
    /** The quality.evaluated of a run, once emitted. */
    const evaluatedOf = async (run: RefreshRun): Promise<QualityEvaluated> =>
      waitFor(
        async () => (await gate.decodedEvaluated()).find((e) => e.dataset_version === run.datasetVersion),
        { what: `quality.evaluated of ${run.datasetVersion}`, timeoutMs: 20_000 },
      );
    return { ws, env, gates, gate, source, store, job, declare, refresh, get, report, evaluatedOf };
  }

  it('when two datasets declare refresh jobs with different thresholds, then a manual run of each uses its own', async () => {
    const g = await declaredGate();
    await g.declare('penguins', [g.job('penguins-eval', STRICT)]);
    const applied = await g.declare('weather', [g.job('weather-eval', LENIENT)]);

    const listed = await g.get<{ jobs: { job: string; dataset: string; origin: string }[] }>('/admin/jobs');
    expect(listed.jobs.map((j) => [j.job, j.dataset, j.origin]).sort()).toEqual([
      ['penguins-eval', 'penguins', 'catalog'],
      ['weather-eval', 'weather', 'catalog'],
    ]);

    const penguins = await g.refresh({ job: 'penguins-eval' });
    expect(penguins.statusCode).toBe(200);
    expect(penguins.run).toMatchObject({
      job: 'penguins-eval',
      dataset: 'penguins',
      status: 'passed',
      settingsOrigin: 'catalog',
      catalogRevision: applied.revision,
    });
    expect(penguins.run.settings?.gate).toEqual(STRICT);
    // Today's body, naming the declared dataset of a single job, runs that job.
    const weather = await g.refresh({ dataset: 'weather' });
    expect(weather.statusCode).toBe(200);
    expect(weather.run).toMatchObject({ job: 'weather-eval', dataset: 'weather', status: 'passed' });

    const penguinsReport = await g.report(penguins.run);
    expect(thresholdsOf(penguinsReport.metrics)).toEqual(expectedThresholds(STRICT));
    expect(penguinsReport).toMatchObject({
      dataset: 'penguins-eval',
      baseline: 'penguins-eval_baseline',
      job: {
        name: 'penguins-eval',
        dataset: 'penguins',
        origin: 'catalog',
        catalog_revision: applied.revision,
      },
    });
    expect(penguinsReport.job.settings.gate).toEqual(STRICT);
    const weatherReport = await g.report(weather.run);
    expect(thresholdsOf(weatherReport.metrics)).toEqual(expectedThresholds(LENIENT));
    expect(weather.run.reportUri).toContain('/candidates/weather-eval/');

    // quality.evaluated names the job (evaluation set); each carries its own thresholds.
    const penguinsEvent = await g.evaluatedOf(penguins.run);
    expect(penguinsEvent).toMatchObject({
      dataset: 'penguins-eval',
      baseline_name: 'penguins-eval_baseline',
    });
    expect(thresholdsOf(penguinsEvent.metrics)).toEqual(expectedThresholds(STRICT));
    const weatherEvent = await g.evaluatedOf(weather.run);
    expect(weatherEvent.dataset).toBe('weather-eval');
    expect(thresholdsOf(weatherEvent.metrics)).toEqual(expectedThresholds(LENIENT));

    // The runs list filters by job; an unknown job is refused naming the jobs.
    const runs = await g.get<{ runs: RefreshRun[] }>('/admin/runs?job=weather-eval');
    expect(runs.runs.map((r) => r.datasetVersion)).toEqual([weather.run.datasetVersion]);
    const unknown = await g.refresh({ job: 'nope' });
    expect(unknown.statusCode).toBe(404);
    expect(JSON.stringify(unknown.run)).toContain('penguins-eval, weather-eval');
    // Two jobs and no name: which one is not guessed.
    expect((await g.refresh({})).statusCode).toBe(400);

    // Each job's baseline was seeded from its declaration, and the audit says so.
    const audit = await g.get<{ changes: BaselineChange[] }>('/admin/baselines/weather-eval_baseline/audit');
    expect(audit.changes).toHaveLength(1);
    expect(audit.changes[0]).toMatchObject({ action: 'seeded' });
    expect(audit.changes[0]!.actor).toContain('catalog weather refresh_jobs.weather-eval');
  });

  it('when a threshold is changed in the catalog, then the next run uses it without a restart and the history names who and what', async () => {
    const g = await declaredGate();
    await g.declare('weather', [g.job('weather-eval', LENIENT)]);
    const before = await g.refresh({ job: 'weather-eval' });
    expect(before.run).toMatchObject({ status: 'passed' });

    // Diversity of the candidate is about 0.5: a minimum of 0.99 fails it.
    const changed = await g.declare(
      'weather',
      [g.job('weather-eval', { ...LENIENT, min_diversity: 0.99 })],
      'alice',
    );
    const after = await g.refresh({ job: 'weather-eval' });
    expect(after.statusCode).toBe(422);
    expect(after.run).toMatchObject({
      status: 'failed',
      failedTask: 'quality_gate',
      catalogRevision: changed.revision,
    });
    expect(after.run.reason).toBe('quality gate failed: diversity');
    expect(after.run.catalogRevision).toBeGreaterThan(before.run.catalogRevision!);
    const report = await g.report(after.run);
    expect(thresholdsOf(report.metrics)).toEqual(expectedThresholds({ ...LENIENT, min_diversity: 0.99 }));
    expect(report.job.catalog_revision).toBe(changed.revision);
    const event = await g.evaluatedOf(after.run);
    expect(event.metrics.find((m) => m.name === 'diversity')).toMatchObject({
      threshold: 0.99,
      passed: false,
    });

    const [latest] = await g.store.history({ name: 'weather', limit: 10 });
    expect(latest).toMatchObject({ revision: changed.revision, action: 'updated', actor: 'alice' });
    expect(latest!.diff).toEqual([
      { path: 'refresh_jobs.0.gate.min_diversity', from: LENIENT.min_diversity, to: 0.99 },
    ]);
  });

  it('when a baseline is replaced through the admin API, then its audit keeps who did it and the diff', async () => {
    const g = await declaredGate();
    await g.declare('weather', [g.job('weather-eval', LENIENT)]);
    // The gate seeds it from the declaration once it sees the new catalog revision.
    await waitFor(
      async () => {
        const res = await g.gate.app.http.inject({
          method: 'GET',
          url: '/admin/baselines/weather-eval_baseline',
          headers: AUTH,
        });
        return res.statusCode === 200 ? true : undefined;
      },
      { what: 'baseline seeded from the declaration', timeoutMs: 10_000 },
    );
    const res = await g.gate.app.http.inject({
      method: 'PUT',
      url: '/admin/baselines/weather-eval_baseline',
      headers: { ...AUTH, 'x-tributary-actor': 'bob' },
      payload: { ...passingBaseline(), required_slices: ['a', 'b', 'c', 'd'] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ required_slices: ['a', 'b', 'c', 'd'], updatedBy: 'bob' });
    const { changes } = await g.get<{ changes: BaselineChange[] }>(
      '/admin/baselines/weather-eval_baseline/audit',
    );
    expect(changes.map((c) => [c.action, c.actor])).toEqual([
      ['updated', 'bob'],
      ['seeded', expect.stringContaining('catalog weather') as unknown],
    ]);
    expect(changes[0]!.diff).toEqual([{ path: 'required_slices.3', to: 'd' }]);
    expect(changes[0]!.tokenName).toBe('admin');
    // The next run reads it: slice d is missing from the candidate (coverage 3/4, above 0.5).
    const { run } = await g.refresh({ job: 'weather-eval' });
    const coverage = (await g.report(run)).metrics.find((m) => m.metric === 'coverage');
    expect(coverage).toMatchObject({ value: 0.75, threshold: 0.5, pass: true });
  });

  it("when a run of a declared job is parked, then it is retried after the job's retry_delays with the settings it started with", async () => {
    const g = await declaredGate({ REFRESH_RETRY_POLL_MS: '100' });
    const file = fileURLToPath(g.source.uri);
    await rename(file, `${file}.later`);
    await g.declare('weather', [g.job('weather-eval', LENIENT, { retry_delays: ['3s'] })]);
    const { statusCode, run } = await g.refresh({ job: 'weather-eval' });
    expect(statusCode).toBe(202);
    expect(run).toMatchObject({ status: 'retrying', attempt: 2, failedTask: 'ingest_sources' });
    // A delay of 3 s, not the default 2 minutes.
    const delay = Date.parse(run.nextAttemptAt!) - Date.parse(run.heartbeatAt);
    expect(delay).toBeGreaterThan(2000);
    expect(delay).toBeLessThanOrEqual(3500);

    // A change made while it waits applies to the next run, not to this run's retry.
    await g.declare('weather', [g.job('weather-eval', { ...LENIENT, min_diversity: 0.99 })]);
    await rename(`${file}.later`, file);
    const done = await waitFor(
      async () => {
        const r = await g.gate.run(run.datasetVersion);
        return r.status === 'passed' || r.status === 'failed' ? r : undefined;
      },
      { what: 'retried run', timeoutMs: 20_000 },
    );
    expect(done).toMatchObject({ status: 'passed', attempt: 2, catalogRevision: run.catalogRevision });
    const report = await g.report(done);
    expect(thresholdsOf(report.metrics)).toEqual(expectedThresholds(LENIENT));
    const next = await g.refresh({ job: 'weather-eval' });
    expect(next.run).toMatchObject({ status: 'failed', reason: 'quality gate failed: diversity' });
  });

  it('when master.versioned arrives for a dataset with two jobs refreshing on it, then each job runs once per master version', async () => {
    const g = await declaredGate();
    await g.declare('penguins', [
      g.job('penguins-eval', STRICT, { on_master_versioned: true }),
      g.job('penguins-lenient', LENIENT, { on_master_versioned: true }),
      g.job('penguins-manual', LENIENT),
    ]);
    const producer = await gateProducer(g.gate, cleanup);
    const versioned = (dataset: string, version: number) =>
      producer.publish(masterVersioned, {
        ...masterVersionedFixture,
        event_id: newEventId(),
        dataset,
        master_version: version,
      });
    await versioned('weather', 1);
    await versioned('penguins', 4);
    // A redelivery (another event id, the same master version).
    await versioned('penguins', 4);
    await waitFor(
      async () => {
        const runs = await g.gate.runs();
        return runs.length >= 2 && runs.every((r) => r.status !== 'running') ? runs : undefined;
      },
      { what: 'a run of each job', timeoutMs: 30_000 },
    );
    await g.gate.evaluated.waitForMessages(2);
    await g.gate.settled();
    const runs = await g.gate.runs();
    expect(runs.map((r) => [r.job, r.trigger, r.masterVersion, r.status]).sort()).toEqual([
      ['penguins-eval', 'MASTER_VERSIONED', 4, 'passed'],
      ['penguins-lenient', 'MASTER_VERSIONED', 4, 'passed'],
    ]);
    expect((await g.gate.decodedEvaluated()).map((e) => e.dataset).sort()).toEqual([
      'penguins-eval',
      'penguins-lenient',
    ]);
  });

  it('when env settings name a job the catalog declares, then the declared one is used', async () => {
    const ws = await workspace();
    cleanup.push(() => ws.remove());
    const envSource = await ws.source('env-source', sourceRows());
    // The old settings of a job named eval ...
    const g = await declaredGate({
      REFRESH_DATASET: 'eval',
      REFRESH_SOURCES: JSON.stringify([envSource]),
      BASELINE_SEED: JSON.stringify(passingBaseline()),
    });
    const envRun = await g.refresh({ dataset: 'eval' });
    expect(envRun.run).toMatchObject({
      job: 'eval',
      status: 'passed',
      settingsOrigin: 'env',
      catalogRevision: null,
    });
    // ... until a dataset declares a job of that name.
    await g.declare('weather', [g.job('eval', LENIENT)]);
    const declaredRun = await g.refresh({ dataset: 'eval' });
    expect(declaredRun.run).toMatchObject({ job: 'eval', dataset: 'weather', settingsOrigin: 'catalog' });
    expect(thresholdsOf((await g.report(declaredRun.run)).metrics)).toEqual(expectedThresholds(LENIENT));
  });

  it('when a job is declared with a cron, then it fires on it once across two replicas and stops when the schedule is removed', async () => {
    const g = await declaredGate({ REFRESH_SCHEDULE_ENABLED: 'true' }, 2);
    // Declared after both replicas started: the schedule follows the catalog without a restart.
    await g.declare('weather', [g.job('weather-eval', LENIENT, { schedule: '*/2 * * * * *' })]);
    await waitFor(
      async () => ((await g.gate.runs()).filter((r) => r.status === 'passed').length >= 3 ? true : undefined),
      { what: 'three scheduled runs', timeoutMs: 30_000 },
    );
    await g.declare('weather', [g.job('weather-eval', LENIENT, { schedule: null })]);
    // Both replicas see the change within CATALOG_REFRESH_MS; a run already started may still end.
    await new Promise((r) => setTimeout(r, 2000));
    const settled = await waitFor(
      async () => {
        const runs = await g.gate.runs();
        return runs.every((r) => r.status !== 'running') ? runs : undefined;
      },
      { what: 'scheduled runs ended', timeoutMs: 20_000 },
    );
    await new Promise((r) => setTimeout(r, 3000));
    const runs = await g.gate.runs();
    expect(runs).toHaveLength(settled.length);

    expect(
      runs.every((r) => r.job === 'weather-eval' && r.trigger === 'SCHEDULE' && r.status === 'passed'),
    ).toBe(true);
    const scheduled = runs.map((r) => r.scheduledFor);
    expect(new Set(scheduled).size).toBe(scheduled.length);
    // Each replica timed the runs it did: together, one per scheduled time.
    const success = /^dag_duration_seconds_count\{.*dag="dataset_refresh".*status="success"/;
    const [first, second] = g.gates;
    expect((await first!.metric(success)) + (await second!.metric(success))).toBe(runs.length);
  });
});
