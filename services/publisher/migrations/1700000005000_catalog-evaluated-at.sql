-- Up Migration
-- When the gate evaluated each version (quality.evaluated occurred_at): "latest" follows when a
-- version was generated, not when it was published, so a late retry of an older version is no rollback.
-- Versions published before it was kept take their publish-time generated_at, the best order known.
ALTER TABLE dataset_catalog ADD COLUMN evaluated_at timestamptz;
UPDATE dataset_catalog SET evaluated_at = generated_at;
ALTER TABLE dataset_catalog ALTER COLUMN evaluated_at SET NOT NULL;
CREATE INDEX dataset_catalog_latest_idx ON dataset_catalog (dataset, evaluated_at DESC, dataset_version COLLATE "C" DESC);

-- Down Migration
DROP INDEX dataset_catalog_latest_idx;
ALTER TABLE dataset_catalog DROP COLUMN evaluated_at;
