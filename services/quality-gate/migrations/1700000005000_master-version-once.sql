-- Up Migration
-- A master.versioned-triggered run is unique per (dataset, master_version), so a redelivered event
-- finds the run of its master version instead of starting a second one (and a second publish and
-- page). Manual and scheduled runs are not concerned.
-- duplicate_of: runs a redelivery started before this index existed, naming the first run of their
-- master version; they stay as history and out of the index, so the index can be built over them.
ALTER TABLE refresh_runs ADD COLUMN duplicate_of text;
UPDATE refresh_runs r SET duplicate_of = first.dataset_version
FROM (
  SELECT DISTINCT ON (dataset, master_version) dataset, master_version, dataset_version
  FROM refresh_runs
  WHERE trigger = 'MASTER_VERSIONED' AND master_version IS NOT NULL
  ORDER BY dataset, master_version, started_at, dataset_version
) first
WHERE r.trigger = 'MASTER_VERSIONED' AND r.dataset = first.dataset
  AND r.master_version = first.master_version AND r.dataset_version <> first.dataset_version;
CREATE UNIQUE INDEX refresh_runs_master_version_key ON refresh_runs (dataset, master_version)
  WHERE trigger = 'MASTER_VERSIONED' AND duplicate_of IS NULL;

-- Down Migration
DROP INDEX refresh_runs_master_version_key;
ALTER TABLE refresh_runs DROP COLUMN duplicate_of;
