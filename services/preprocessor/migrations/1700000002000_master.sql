-- Up Migration
-- The fenced pointer to each dataset's current master version (compareAndSetVersion moves it).
CREATE TABLE masters (
  dataset text PRIMARY KEY,
  version bigint NOT NULL DEFAULT 0,
  -- Next number for a Parquet part (parts/part-<n>.parquet); advanced only by committed merges,
  -- so a retried merge names its parts exactly as the crashed attempt did.
  next_part bigint NOT NULL DEFAULT 1,
  -- Columns and types of the master, to refuse a batch whose contract would change them.
  schema_fingerprint text
);

-- One row per committed master version: what it holds and what it came from.
CREATE TABLE master_versions (
  dataset text NOT NULL,
  version bigint NOT NULL,
  previous_version bigint,
  checksum text NOT NULL,
  row_count bigint NOT NULL,
  rows_added bigint NOT NULL,
  rows_updated bigint NOT NULL,
  rows_rejected bigint NOT NULL,
  parts_written integer NOT NULL,
  batch_ids text[] NOT NULL,
  raw_checksums jsonb NOT NULL,
  contract_name text NOT NULL,
  contract_version text NOT NULL,
  location text NOT NULL,
  dvc_file text NOT NULL,
  rejection_report_uri text,
  merge_started_at timestamptz NOT NULL,
  committed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (dataset, version)
);

-- Files of the master directory. Version N holds the rows with added_in <= N and
-- (removed_in IS NULL OR removed_in > N): a version's listing never changes once committed.
CREATE TABLE master_files (
  dataset text NOT NULL,
  relpath text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('part', 'image')),
  md5 text NOT NULL,
  size bigint NOT NULL,
  row_count bigint,
  part_no bigint,
  added_in bigint NOT NULL,
  removed_in bigint,
  PRIMARY KEY (dataset, relpath, added_in)
);
CREATE INDEX master_files_current_idx ON master_files (dataset) WHERE removed_in IS NULL;

-- Segments: the rows one merge added. A key points at its segment, a segment at the part that
-- holds it now, so compaction and rewrites move segments (few rows here), never keys.
CREATE TABLE master_segments (
  dataset text NOT NULL,
  segment_no bigint NOT NULL,
  part_no bigint NOT NULL,
  PRIMARY KEY (dataset, segment_no)
);
CREATE INDEX master_segments_part_idx ON master_segments (dataset, part_no);

-- Primary-key index of the current master: which segment holds each key.
CREATE TABLE master_keys (
  dataset text NOT NULL,
  key text NOT NULL,
  segment_no bigint NOT NULL,
  PRIMARY KEY (dataset, key)
);

-- CURRENT_MASTER_ROWS of the seed, per dataset; other services may read it.
CREATE TABLE current_master_rows (
  dataset text PRIMARY KEY,
  row_count bigint NOT NULL,
  master_version bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every batch this service finished, merged or rejected: a redelivery is acknowledged, and the
-- same batch id with other content is a conflict.
CREATE TABLE processed_batches (
  batch_id text PRIMARY KEY,
  dataset text NOT NULL,
  content_hash text NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('merged', 'rejected')),
  master_version bigint,
  rows_merged bigint NOT NULL DEFAULT 0,
  rows_rejected bigint NOT NULL DEFAULT 0,
  report_uri text,
  processed_at timestamptz NOT NULL DEFAULT now()
);

-- Parts written before their merge committed. A crashed merge leaves rows here; the next commit
-- of the dataset deletes the objects nobody references (a retried merge reuses them first).
CREATE TABLE pending_parts (
  dataset text NOT NULL,
  md5 text NOT NULL,
  batch_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dataset, md5, batch_id)
);

-- Down Migration
DROP TABLE pending_parts;
DROP TABLE processed_batches;
DROP TABLE current_master_rows;
DROP TABLE master_keys;
DROP TABLE master_segments;
DROP TABLE master_files;
DROP TABLE master_versions;
DROP TABLE masters;
