/**
 * The demo's run: makes sure MLflow knows a production model, declares the datasets of
 * datasets/*.yaml with `tributary datasets apply`, writes a real sample batch, submits it with the
 * CLI, follows it to its master version, retrain decision and published evaluation set, prints its
 * lineage, and onboards the second dataset (Seattle weather) with a batch of its own.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MlflowRest, stackEnv, vegaDataFile, writeSampleBatch } from '@tributary/testing';

const demoDir = process.argv[2] ?? '.';
const model = process.env.PENGUINS_MODEL ?? 'penguin-classifier';
const token = process.env.TRIBUTARY_ADMIN_TOKEN ?? '';
const ingestor = 'http://127.0.0.1:3001';
const retrainPolicy = 'http://127.0.0.1:3006';
const publisher = 'http://127.0.0.1:3004';
const preprocessor = 'http://127.0.0.1:3002';
const say = (line: string) => process.stdout.write(`${line}\n`);

/** The production model's experiment (where its training runs are searched), created if need be. */
async function ensureProductionModel(): Promise<string> {
  const mlflow = new MlflowRest(stackEnv.MLFLOW_TRACKING_URI);
  const existing = await fetch(`${mlflow.api}/registered-models/alias?name=${model}&alias=production`);
  if (existing.ok) {
    const { model_version } = (await existing.json()) as { model_version: { run_id: string } };
    const run = await fetch(`${mlflow.api}/runs/get?run_id=${model_version.run_id}`);
    return ((await run.json()) as { run: { info: { experiment_id: string } } }).run.info.experiment_id;
  }
  const tags = { feature_version: 'f1', split_version: 's1', model_version: 'm1' };
  const experiment = await mlflow.createExperiment(`tributary-demo-${Date.now()}`);
  const run = await mlflow.createRun(experiment, { tags, metrics: { master_rows: 0 } });
  await mlflow.createRegisteredModel(model).catch(() => undefined);
  await mlflow.setAlias(model, 'production', await mlflow.createModelVersion(model, run));
  say(`MLflow: registered ${model} (production) trained on 0 master rows`);
  return experiment;
}

/** Runs the CLI as a user does; stops the demo when it fails. */
function tributary(args: string[], env: Record<string, string> = {}): void {
  const run = spawnSync(process.execPath, ['cli/bin/tributary.js', ...args], {
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  if (run.status !== 0) process.exit(run.status ?? 1);
}

const experiment = await ensureProductionModel();
say('\ndeclaring the datasets of datasets/ (tributary datasets apply datasets --url ' + ingestor + '):');
tributary(['datasets', 'apply', 'datasets', '--url', ingestor], {
  PENGUINS_MODEL: model,
  PENGUINS_EXPERIMENT: experiment,
});
// The landing zone: one folder per declared dataset (its name, or landing.folder of its declaration).
const landingDir = process.env.LANDING_DIR;
if (landingDir !== undefined) {
  const res = await fetch(`${ingestor}/admin/catalog/datasets`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const { datasets } = (await res.json()) as {
    datasets: { name: string; spec: { landing?: { folder?: string } } }[];
  };
  say(`landing zone (LANDING_DIR): ${landingDir}`);
  for (const d of datasets) {
    const folder = join(landingDir, d.spec.landing?.folder ?? d.name);
    mkdirSync(folder, { recursive: true });
    say(`  ${d.name}: ${folder}/<batch id>/ (files, then an empty _READY)`);
  }
}
const batchId = `penguins-${Date.now()}`;
const batchDir = join(demoDir, batchId);
const batch = await writeSampleBatch(batchDir, {
  offset: Math.floor(Math.random() * 300),
  count: 40,
  images: 5,
});
say(`sample batch: ${batch.rows.length} penguins and 5 photos in ${batchDir}`);

const submit = spawnSync(
  process.execPath,
  [
    'cli/bin/tributary.js',
    'submit',
    batchDir,
    '--dataset',
    'penguins',
    '--contract',
    'penguins@1.0.0',
    '--url',
    ingestor,
    '--batch-id',
    batchId,
    '--wait',
  ],
  { stdio: 'inherit' },
);
if (submit.status !== 0) process.exit(submit.status ?? 1);

/** Polls an admin API until `pick` finds what it waits for (60 s at most). */
async function poll<T, R>(url: string, pick: (body: T) => R | undefined): Promise<R | undefined> {
  for (let i = 0; i < 60; i++) {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    const found = res.ok ? pick((await res.json()) as T) : undefined;
    if (found !== undefined) return found;
    await sleep(1000);
  }
  return undefined;
}

// The merge follows within seconds, then the retrain decision on the new master version.
const merged = await poll(
  `${preprocessor}/masters/penguins/versions?batch_id=${batchId}`,
  (body: { versions?: { version: number }[] }) => body.versions?.at(-1)?.version,
);
const decision =
  merged === undefined
    ? undefined
    : await poll(
        `${retrainPolicy}/admin/decisions?dataset=penguins&master_version=${merged}`,
        (body: { decisions?: { outcome: string; reason: string; runId: string }[] }) => body.decisions?.[0],
      );
if (merged === undefined || decision === undefined) {
  say("the batch did not reach a retrain decision within 60 s: see the services' logs in " + demoDir);
} else {
  say(`master version ${merged}; retrain decision: ${decision.outcome} — ${decision.reason}`);
  say(`trace of the whole run: ${stackEnv.JAEGER_QUERY_URL}/trace/${decision.runId}`);
  // The new master also triggered the evaluation refresh; the gate passed it and the publisher published it.
  const published = await poll(
    `${publisher}/admin/catalog?dataset=penguins`,
    (body: { datasets?: { masterVersion: number | null; datasetVersion: string; manifestUri: string }[] }) =>
      body.datasets?.find((d) => d.masterVersion === merged),
  );
  if (published) say(`evaluation set ${published.datasetVersion} published: ${published.manifestUri}`);
  else say('the evaluation refresh did not publish within 60 s: see quality-gate.log and publisher.log');
}
say(`\nlineage of ${batchId} (tributary lineage --batch ${batchId}):`);
spawnSync(process.execPath, ['cli/bin/tributary.js', 'lineage', '--batch', batchId], { stdio: 'inherit' });
// The second dataset: Seattle weather, declared with no model, so it requests no retraining.
const weatherCsv = readFileSync(vegaDataFile('seattle-weather.csv'), 'utf8').split('\n');
const weatherDir = join(demoDir, `seattle-weather-${Date.now()}`);
mkdirSync(weatherDir, { recursive: true });
const start = 1 + Math.floor(Math.random() * 1300);
writeFileSync(
  join(weatherDir, 'weather.csv'),
  [weatherCsv[0], ...weatherCsv.slice(start, start + 60)].join('\n') + '\n',
);
say(`\nsecond dataset: 60 days of Seattle weather in ${weatherDir}`);
tributary([
  'submit',
  weatherDir,
  '--dataset',
  'seattle-weather',
  '--contract',
  'seattle-weather@1.0.0',
  '--url',
  ingestor,
  '--wait',
  '--until',
  'merged',
]);
say('tributary datasets list:');
tributary(['datasets', 'list', '--url', ingestor]);
say('services keep running: `scripts/demo.sh stop` stops them, `scripts/stack.sh down` the stack');
