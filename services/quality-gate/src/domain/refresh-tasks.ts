import { createHash } from 'node:crypto';
import { AppError } from '@tributary/errors';
import type { Span } from '@tributary/telemetry';
import type {
  Augmentation,
  CandidateWritten,
  EngineContext,
  EngineRun,
  MetricResult,
  SourceRead,
} from './ports.ts';
import type { RefreshDeps, RefreshSettings } from './refresh-dataset.ts';
import { TaskFailure } from './task-failure.ts';

/** What quality_gate measured and where its report is. */
export interface GateOutcome {
  passed: boolean;
  metrics: MetricResult[];
  gaps: string[];
  reportUri: string;
}

/**
 * The seed's `ingest_sources`: reads and verifies each source on the engine (its declared schema
 * version, its checksum; a master source reads the master version the run names), and the
 * source_hash over all of them.
 */
export async function ingestSources(
  deps: RefreshDeps,
  engine: EngineRun,
  ctx: EngineContext,
  masterVersion: number | undefined,
): Promise<{ sourceHash: string; sources: SourceRead[] }> {
  const { sources, schemaVersion, dataset, job } = deps.settings;
  if (sources.length === 0)
    throw new TaskFailure(
      'ingest_sources',
      `refresh job ${job} has no source (its sources, or REFRESH_SOURCES)`,
    );
  const read: SourceRead[] = [];
  for (const source of sources) {
    const fail = (message: string) => new TaskFailure('ingest_sources', `source ${source.name}: ${message}`);
    if (source.schema_version !== schemaVersion) {
      throw fail(`schema version mismatch (declared ${source.schema_version}, expected ${schemaVersion})`);
    }
    try {
      if (source.master === true) {
        if (masterVersion === undefined) throw fail(`no master version of ${dataset} has been seen yet`);
        const master = await deps.masters.get(dataset, masterVersion);
        if (!master) throw fail(`master version ${masterVersion} of ${dataset} has not been seen`);
        const parts = await deps.masterReader.parts(master);
        read.push(await engine.ingest({ kind: 'master', name: source.name, master, parts }, ctx));
        continue;
      }
      read.push(
        await engine.ingest({ kind: 'file', name: source.name, uri: source.uri, sha256: source.sha256 }, ctx),
      );
    } catch (err) {
      if (err instanceof AppError && !err.retriable) throw fail(err.message);
      throw err;
    }
  }
  const sourceHash = sha256(
    [...read]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((s) => `${s.name}:${s.checksum}`)
      .join('\n'),
  );
  return { sourceHash, sources: read };
}

/**
 * The seed's `generate_candidate`: samples and augments the candidate on the engine and writes it
 * under the run's prefix, tagged with its dataset_version and source_hash (object metadata in S3;
 * the report beside it carries both on any store).
 */
export async function generateCandidate(
  deps: RefreshDeps,
  engine: EngineRun,
  ctx: EngineContext,
  run: { datasetVersion: string; sourceHash: string },
  span: Span,
): Promise<CandidateWritten> {
  const { settings } = deps;
  const written = await engine.generate(
    {
      stratifyColumn: settings.stratifyColumn,
      fraction: settings.fraction,
      seed: settings.seed,
      textColumn: settings.textColumn,
      textDropout: settings.textDropout,
      augmentations: deps.augmentations,
    },
    {
      prefix: `candidates/${settings.job}/${run.datasetVersion}/`,
      tags: { 'dataset-version': run.datasetVersion, 'source-hash': run.sourceHash },
    },
    ctx,
  );
  span.setAttribute('tributary.rows', written.rows);
  return written;
}

/**
 * The seed's `quality_gate`: measures the candidate against the job's baseline and writes
 * `quality_report.json` (the metrics, the coverage gaps, and which sources, settings and engine the
 * run used).
 */
export async function qualityGate(
  deps: RefreshDeps,
  engine: EngineRun,
  run: {
    datasetVersion: string;
    runId: string;
    sources: { sourceHash: string; sources: SourceRead[] };
    candidate: CandidateWritten;
  },
  span: Span,
): Promise<GateOutcome> {
  const { settings } = deps;
  const { candidate } = run;
  const baseline = await deps.runs.baseline(settings.baselineName);
  if (!baseline) throw new TaskFailure('quality_gate', `baseline ${settings.baselineName} does not exist`);
  const { metrics, gaps } = await engine.measure(baseline, settings, deps.toxicity);
  const passed = metrics.every((m) => m.pass);
  span.setAttribute('tributary.gate_passed', passed);
  const report = {
    dataset: settings.job,
    dataset_version: run.datasetVersion,
    run_id: run.runId,
    // Which job and which of its settings the run used (read at its start).
    job: {
      name: settings.job,
      dataset: settings.dataset,
      origin: settings.origin.kind,
      catalog_revision: settings.origin.catalogRevision,
      settings: settings.origin.spec,
    },
    source_hash: run.sources.sourceHash,
    sources: run.sources.sources,
    baseline: baseline.name,
    seed: settings.seed,
    stratify_column: settings.stratifyColumn,
    engine: settings.engine,
    augmentations: augmentationNames(settings, deps.augmentations),
    toxicity_scorer: deps.toxicity.name,
    candidate_uri: candidate.uri,
    candidate_parquet_uri: candidate.parquetUri,
    candidate_checksum: candidate.checksum,
    candidate_rows: candidate.rows,
    passed,
    coverage_gaps: gaps,
    metrics,
  };
  const reportUri = await deps.store.put(
    `candidates/${settings.job}/${run.datasetVersion}/quality_report.json`,
    JSON.stringify(report, null, 2) + '\n',
  );
  return { passed, metrics, gaps, reportUri };
}

/** What the report lists as the run's augmentations (built-in word dropout first). */
function augmentationNames(settings: RefreshSettings, plugged: readonly Augmentation[]): string[] {
  const dropout =
    settings.textColumn !== null && settings.textDropout > 0
      ? [`word_dropout(${settings.textColumn}, ${settings.textDropout})`]
      : [];
  return [...dropout, ...plugged.map((a) => a.name)];
}

function sha256(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}
