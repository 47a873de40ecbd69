-- Up Migration
-- One quality-gate deployment runs every declared refresh job.
-- job: the refresh job (evaluation set) of the run, the `dataset` of its quality.evaluated.
-- dataset: from now on the declared dataset whose master a master source reads. Runs before this
-- migration had one name for both (REFRESH_DATASET), so job takes it.
-- settings, settings_origin, catalog_revision: the job's settings the run read at its start (its
-- retries read them again), where they came from ('catalog' or 'env') and the catalog revision.
ALTER TABLE refresh_runs
  ADD COLUMN job text,
  ADD COLUMN settings jsonb,
  ADD COLUMN settings_origin text,
  ADD COLUMN catalog_revision bigint;
UPDATE refresh_runs SET job = dataset;
ALTER TABLE refresh_runs ALTER COLUMN job SET NOT NULL;

-- A scheduled time runs once per job, and a master version once per job (it was per deployment
-- and per dataset), however many replicas fire the schedule or receive the event.
ALTER TABLE refresh_runs DROP CONSTRAINT refresh_runs_scheduled_for_key;
CREATE UNIQUE INDEX refresh_runs_job_scheduled_key ON refresh_runs (job, scheduled_for);
DROP INDEX refresh_runs_master_version_key;
CREATE UNIQUE INDEX refresh_runs_job_master_version_key ON refresh_runs (job, master_version)
  WHERE trigger = 'MASTER_VERSIONED' AND duplicate_of IS NULL;
CREATE INDEX refresh_runs_job_started_idx ON refresh_runs (job, started_at DESC);

-- Who changed a baseline, and how: one row per seed or PUT, with the fields that differ.
ALTER TABLE baselines ADD COLUMN updated_by text;
CREATE TABLE baseline_changes (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  action text NOT NULL,
  actor text NOT NULL,
  token_name text,
  diff jsonb NOT NULL,
  body jsonb NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX baseline_changes_name_idx ON baseline_changes (name, id DESC);

-- Down Migration
DROP TABLE baseline_changes;
ALTER TABLE baselines DROP COLUMN updated_by;
DROP INDEX refresh_runs_job_started_idx;
DROP INDEX refresh_runs_job_master_version_key;
CREATE UNIQUE INDEX refresh_runs_master_version_key ON refresh_runs (dataset, master_version)
  WHERE trigger = 'MASTER_VERSIONED' AND duplicate_of IS NULL;
DROP INDEX refresh_runs_job_scheduled_key;
ALTER TABLE refresh_runs ADD CONSTRAINT refresh_runs_scheduled_for_key UNIQUE (scheduled_for);
ALTER TABLE refresh_runs
  DROP COLUMN catalog_revision,
  DROP COLUMN settings_origin,
  DROP COLUMN settings,
  DROP COLUMN job;
