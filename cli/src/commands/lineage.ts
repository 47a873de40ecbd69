import type { Command } from 'commander';
import {
  formatLineage,
  stitchLineage,
  type Answer,
  type BatchFact,
  type CatalogFact,
  type DecisionFact,
  type LineageFacts,
  type MasterVersionFact,
  type QualityRunFact,
} from '../lineage.ts';

interface LineageOptions {
  batch?: string;
  dataset?: string;
  masterVersion?: number;
  datasetVersion?: string;
  json?: boolean;
  ingestorUrl: string;
  preprocessorUrl: string;
  qualityGateUrl: string;
  publisherUrl: string;
  retrainPolicyUrl: string;
  token?: string;
}

/** How many quality runs and catalog entries are read to find the ones of this chain. */
const SCAN_LIMIT = 500;

/** GET a service's API: 404 is "missing"; any other failure is "unavailable", not an error. */
async function read<T>(baseUrl: string, path: string, token?: string): Promise<Answer<T>> {
  const url = `${baseUrl.replace(/\/$/, '')}${path}`;
  try {
    const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    if (res.status === 404) return { missing: true };
    const text = await res.text();
    if (!res.ok) return { unavailable: `GET ${url} answered ${res.status}: ${text.slice(0, 200)}` };
    return { value: JSON.parse(text) as T };
  } catch (err) {
    return { unavailable: `GET ${url} failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function map<T, U>(answer: Answer<T>, f: (t: T) => U): Answer<U> {
  return 'value' in answer ? { value: f(answer.value) } : answer;
}

function wholeNumber(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n))
    throw new Error('--master-version must be a whole number');
  return n;
}

/** Reads every service the chain crosses, then stitches. */
async function collect(o: LineageOptions): Promise<LineageFacts> {
  const token = o.token ?? process.env.TRIBUTARY_ADMIN_TOKEN;
  const enc = encodeURIComponent;
  const readBatch = async (batchId: string) => ({
    batchId,
    answer: await read<BatchFact>(o.ingestorUrl, `/batches/${enc(batchId)}`),
  });
  const qualityRuns = read<{ runs: QualityRunFact[] }>(
    o.qualityGateUrl,
    `/admin/runs?limit=${SCAN_LIMIT}`,
    token,
  );
  const catalogPath = `/admin/catalog?limit=${SCAN_LIMIT}${o.dataset ? `&dataset=${enc(o.dataset)}` : ''}`;
  const catalog = read<{ datasets: CatalogFact[] }>(o.publisherUrl, catalogPath, token);

  let dataset = o.dataset ?? null;
  let batches: LineageFacts['batches'] = [];
  let master: Answer<MasterVersionFact> = { missing: true };
  const runs = map(await qualityRuns, (r) => r.runs);
  const entries = map(await catalog, (c) => c.datasets);
  let masterVersion = o.masterVersion;

  if (o.batch !== undefined) {
    const batch = await readBatch(o.batch);
    batches = [batch];
    if ('value' in batch.answer) dataset ??= batch.answer.value.dataset;
    if (dataset !== null) {
      const found = await read<{ versions: MasterVersionFact[] }>(
        o.preprocessorUrl,
        `/masters/${enc(dataset)}/versions?batch_id=${enc(o.batch)}`,
      );
      // The oldest version holding the batch is the one that merged it.
      if ('value' in found) {
        const merged = found.value.versions.at(-1);
        master = merged ? { value: merged } : { missing: true };
      } else {
        master = found;
      }
    }
  } else {
    if (o.datasetVersion !== undefined) {
      const run = 'value' in runs ? runs.value.find((r) => r.datasetVersion === o.datasetVersion) : undefined;
      const entry =
        'value' in entries ? entries.value.find((e) => e.datasetVersion === o.datasetVersion) : undefined;
      dataset ??= run?.dataset ?? entry?.dataset ?? null;
      masterVersion = run?.masterVersion ?? entry?.masterVersion ?? undefined;
    }
    if (dataset !== null && masterVersion !== undefined) {
      master = await read<MasterVersionFact>(
        o.preprocessorUrl,
        `/masters/${enc(dataset)}/versions/${masterVersion}`,
      );
      if ('value' in master) batches = await Promise.all(master.value.batch_ids.map(readBatch));
    }
  }

  const version = 'value' in master ? master.value.version : masterVersion;
  const decisions: Answer<DecisionFact[]> =
    dataset !== null && version !== undefined
      ? map(
          await read<{ decisions: DecisionFact[] }>(
            o.retrainPolicyUrl,
            `/admin/decisions?dataset=${enc(dataset)}&master_version=${version}`,
            token,
          ),
          (d) => d.decisions,
        )
      : { value: [] };

  return {
    dataset,
    batches,
    master,
    qualityRuns: runs,
    catalog: entries,
    decisions,
    ...(o.datasetVersion === undefined ? {} : { datasetVersion: o.datasetVersion }),
  };
}

/** `tributary lineage`: the chain batch → raw snapshot → master → quality → published → retrain. */
export function registerLineage(program: Command): void {
  const env = process.env;
  program
    .command('lineage')
    .description(
      'Print the chain batch → raw snapshot → master version → quality report → published → retrain',
    )
    .option('--batch <id>', 'start from a batch id')
    .option('--master-version <n>', 'start from a master version (needs --dataset)', wholeNumber)
    .option('--dataset-version <v>', 'start from a published dataset version')
    .option('--dataset <name>', 'dataset of the batch or master version')
    .option('--json', 'print the chain as JSON')
    .option(
      '--ingestor-url <url>',
      'env TRIBUTARY_INGESTOR_URL',
      env.TRIBUTARY_INGESTOR_URL ?? 'http://127.0.0.1:3001',
    )
    .option(
      '--preprocessor-url <url>',
      'env TRIBUTARY_PREPROCESSOR_URL',
      env.TRIBUTARY_PREPROCESSOR_URL ?? 'http://127.0.0.1:3002',
    )
    .option(
      '--quality-gate-url <url>',
      'env TRIBUTARY_QUALITY_GATE_URL',
      env.TRIBUTARY_QUALITY_GATE_URL ?? 'http://127.0.0.1:3003',
    )
    .option(
      '--publisher-url <url>',
      'env TRIBUTARY_PUBLISHER_URL',
      env.TRIBUTARY_PUBLISHER_URL ?? 'http://127.0.0.1:3004',
    )
    .option(
      '--retrain-policy-url <url>',
      'env TRIBUTARY_RETRAIN_POLICY_URL',
      env.TRIBUTARY_RETRAIN_POLICY_URL ?? 'http://127.0.0.1:3006',
    )
    .option('--token <token>', 'admin token (default: env TRIBUTARY_ADMIN_TOKEN)')
    .action(async (opts: LineageOptions) => {
      const starts = [opts.batch, opts.masterVersion, opts.datasetVersion].filter((s) => s !== undefined);
      if (starts.length !== 1) {
        throw new Error('give exactly one of --batch, --master-version or --dataset-version');
      }
      if (opts.masterVersion !== undefined && !opts.dataset)
        throw new Error('--master-version needs --dataset');
      const lineage = stitchLineage(await collect(opts));
      process.stdout.write(opts.json ? `${JSON.stringify(lineage, null, 2)}\n` : formatLineage(lineage));
    });
}
