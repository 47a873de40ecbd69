-- Up Migration
-- The run (trace) id of the refresh that published each version, so lineage shows it per link.
ALTER TABLE dataset_catalog ADD COLUMN run_id text;

-- Down Migration
ALTER TABLE dataset_catalog DROP COLUMN run_id;
