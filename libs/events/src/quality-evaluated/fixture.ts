import type { QualityEvaluated } from '../generated/types.ts';

export const qualityEvaluatedFixture: QualityEvaluated = {
  event_id: '1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9',
  occurred_at: 1_763_949_600_000,
  run_id: '0af7651916cd43dd8448eb211c80319c',
  dataset: 'penguins',
  dataset_version: 'penguins-eval-20261124T020000Z',
  source_hash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  master_version: 7,
  trigger: 'SCHEDULE',
  passed: true,
  baseline_name: 'baseline_eval_v1',
  report_uri: 's3://tributary/eval/penguins/penguins-eval-20261124T020000Z/quality_report.json',
  candidate_uri: 's3://tributary/eval/penguins/penguins-eval-20261124T020000Z/candidate.parquet',
  candidate_checksum: '7215ee9c7d9dc229d2921a40e899ec5f',
  candidate_rows: 300,
  metrics: [
    { name: 'coverage', baseline: 0.95, value: 0.97, delta: 0.02, threshold: 0.9, passed: true },
    { name: 'toxicity', baseline: null, value: 0.001, delta: null, threshold: 0.01, passed: true },
  ],
  coverage_gaps: [],
  status: 'EVALUATED',
  failed_task: null,
  failure_reason: null,
};

/** A run that failed before the gate measured anything (in ingest_sources): no candidate, no metrics. */
export const qualityEvaluatedTaskFailedFixture: QualityEvaluated = {
  ...qualityEvaluatedFixture,
  passed: false,
  report_uri: '',
  candidate_uri: '',
  candidate_checksum: '',
  candidate_rows: 0,
  metrics: [],
  status: 'TASK_FAILED',
  failed_task: 'ingest_sources',
  failure_reason: 'source canonical: checksum mismatch',
};
