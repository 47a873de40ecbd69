-- Up Migration
-- The run (trace) id of the merge that committed each version, so lineage shows it per link.
ALTER TABLE master_versions ADD COLUMN run_id text;

-- Down Migration
ALTER TABLE master_versions DROP COLUMN run_id;
