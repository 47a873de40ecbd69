-- Up Migration
-- One row per batch id: its current state. It is the idempotency key of invariant 2: an INGESTED
-- row is final (the same content again is acknowledged, other content is a conflict); a REJECTED
-- row may be taken again by different content; an INGESTING row is an attempt in progress, or one
-- that died, which the next delivery takes over.
CREATE TABLE batches (
  id text PRIMARY KEY,
  dataset text NOT NULL,
  producer text NOT NULL,
  source text NOT NULL,
  contract_name text NOT NULL,
  contract_version text NOT NULL,
  content_hash text NOT NULL,
  status text NOT NULL CHECK (status IN ('INGESTING', 'INGESTED', 'REJECTED')),
  error_code text,
  reason text,
  raw_location text,
  raw_dvc_file text,
  raw_md5 text,
  report jsonb,
  report_uri text,
  run_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  ingested_at timestamptz
);
CREATE INDEX batches_dataset_created_idx ON batches (dataset, created_at);

-- Every distinct content submitted under a batch id and what became of it: submissions through
-- HTTP or the landing zone before they are ingested, and refused conflicting contents, which
-- never touch the batches row. The landing-zone watcher and `submit --wait` read outcomes here.
CREATE TABLE batch_attempts (
  batch_id text NOT NULL,
  content_hash text NOT NULL,
  dataset text NOT NULL,
  source text NOT NULL,
  status text NOT NULL CHECK (status IN ('SUBMITTED', 'INGESTING', 'INGESTED', 'REJECTED')),
  error_code text,
  reason text,
  report_uri text,
  run_id text,
  submitted_at timestamptz NOT NULL DEFAULT now(),
  decided_at timestamptz,
  PRIMARY KEY (batch_id, content_hash)
);

-- Down Migration
DROP TABLE batch_attempts;
DROP TABLE batches;
