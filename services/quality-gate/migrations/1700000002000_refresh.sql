-- Up Migration
-- One row per refresh run (dataset_version). The unique scheduled minute is what makes the nightly
-- refresh run once however many replicas fire it; manual and event-triggered runs have none.
CREATE TABLE refresh_runs (
  dataset_version text PRIMARY KEY,
  dataset text NOT NULL,
  trigger text NOT NULL,
  scheduled_for timestamptz UNIQUE,
  master_version bigint,
  status text NOT NULL DEFAULT 'running',
  failed_task text,
  reason text,
  source_hash text,
  report_uri text,
  candidate_uri text,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX refresh_runs_started_idx ON refresh_runs (started_at DESC);

-- Baselines the gate compares candidates against, by name (baseline_eval_v1 first).
CREATE TABLE baselines (
  name text PRIMARY KEY,
  body jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE baselines;
DROP TABLE refresh_runs;
