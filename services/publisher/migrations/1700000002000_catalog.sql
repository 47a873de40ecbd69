-- Up Migration
-- The metadata catalog: one row per published dataset version. The primary key makes publishing
-- (and dataset.published, enqueued in the same transaction) at-most-once per version.
CREATE TABLE dataset_catalog (
  dataset_version text PRIMARY KEY,
  dataset text NOT NULL,
  source_hash text NOT NULL,
  master_version bigint,
  location text NOT NULL,
  checksum text NOT NULL,
  manifest_uri text NOT NULL,
  quality_report_uri text NOT NULL,
  generated_at timestamptz NOT NULL,
  published_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dataset_catalog_dataset_idx ON dataset_catalog (dataset, published_at DESC);

-- Archived runs (archive_artifacts), whatever their outcome; swept after the retention.
CREATE TABLE archives (
  dataset_version text PRIMARY KEY,
  dataset text NOT NULL,
  outcome text NOT NULL,
  reason text,
  prefix text NOT NULL,
  archived_at timestamptz NOT NULL DEFAULT now(),
  swept_at timestamptz
);

-- Down Migration
DROP TABLE archives;
DROP TABLE dataset_catalog;
