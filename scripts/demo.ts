/**
 * The demo's run: makes sure MLflow knows a production model, writes a real sample batch,
 * submits it with the CLI, and follows it to its master version and retrain decision.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MlflowRest, stackEnv, writeSampleBatch } from '@tributary/testing';

const demoDir = process.argv[2] ?? '.';
const model = process.env.MLFLOW_MODEL_NAME ?? 'penguin-classifier';
const token = process.env.TRIBUTARY_ADMIN_TOKEN ?? '';
const ingestor = 'http://127.0.0.1:3001';
const retrainPolicy = 'http://127.0.0.1:3006';
const say = (line: string) => process.stdout.write(`${line}\n`);

async function ensureProductionModel(): Promise<void> {
  const mlflow = new MlflowRest(stackEnv.MLFLOW_TRACKING_URI);
  const existing = await fetch(`${mlflow.api}/registered-models/alias?name=${model}&alias=production`);
  if (existing.ok) return;
  const tags = { feature_version: 'f1', split_version: 's1', model_version: 'm1' };
  const experiment = await mlflow.createExperiment(`tributary-demo-${Date.now()}`);
  const run = await mlflow.createRun(experiment, { tags, metrics: { master_rows: 0 } });
  await mlflow.createRegisteredModel(model).catch(() => undefined);
  await mlflow.setAlias(model, 'production', await mlflow.createModelVersion(model, run));
  say(`MLflow: registered ${model} (production) trained on 0 master rows`);
}

await ensureProductionModel();
const batchDir = join(demoDir, `batch-${Date.now()}`);
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
    '--wait',
  ],
  { stdio: 'inherit' },
);
if (submit.status !== 0) process.exit(submit.status ?? 1);

// The merge and the decision follow within seconds; the decision names the master version.
for (let i = 0; i < 60; i++) {
  const res = await fetch(`${retrainPolicy}/admin/decisions?dataset=penguins&limit=1`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await res.json()) as {
    decisions?: { masterVersion: number; outcome: string; reason: string; runId: string }[];
  };
  const latest = body.decisions?.[0];
  if (latest) {
    say(`master version ${latest.masterVersion}; retrain decision: ${latest.outcome} — ${latest.reason}`);
    say(`trace of the whole run: ${stackEnv.JAEGER_QUERY_URL}/trace/${latest.runId}`);
    break;
  }
  await sleep(1000);
}
say('services keep running: `scripts/demo.sh stop` stops them, `scripts/stack.sh down` the stack');
