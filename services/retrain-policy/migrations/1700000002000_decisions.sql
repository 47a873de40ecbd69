-- Up Migration
-- One decision per master version: the unique key is what makes retrain.requested at-most-once
-- per version, since the decision and its outbox row commit together.
CREATE TABLE retrain_decisions (
  id bigserial PRIMARY KEY,
  dataset text NOT NULL,
  master_version bigint NOT NULL,
  master_event_id text NOT NULL,
  run_id text NOT NULL,
  master_location text NOT NULL,
  master_checksum text NOT NULL,
  current_master_rows bigint NOT NULL,
  threshold_rows bigint NOT NULL,
  outcome text NOT NULL,
  requested boolean NOT NULL,
  reason text NOT NULL,
  model_name text NOT NULL,
  model_registry_version text,
  model_selected_by text,
  production_run_id text,
  feature_version text,
  split_version text,
  model_version text,
  last_compatible_run_id text,
  last_run_master_rows bigint,
  new_rows bigint,
  retrain_event_id text,
  decided_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT retrain_decisions_master_key UNIQUE (dataset, master_version)
);
CREATE INDEX retrain_decisions_decided_idx ON retrain_decisions (decided_at DESC, id DESC);

-- Runtime settings (the seed's Airflow variables), changed through the admin API without a restart.
CREATE TABLE runtime_settings (
  name text PRIMARY KEY,
  value jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text NOT NULL
);

-- Every change of a runtime setting: who, when, from what to what. Rows are never updated.
CREATE TABLE runtime_settings_audit (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  old_value jsonb,
  new_value jsonb NOT NULL,
  actor text NOT NULL,
  token_name text,
  changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runtime_settings_audit_name_idx ON runtime_settings_audit (name, id DESC);

-- Down Migration
DROP TABLE runtime_settings_audit;
DROP TABLE runtime_settings;
DROP TABLE retrain_decisions;
