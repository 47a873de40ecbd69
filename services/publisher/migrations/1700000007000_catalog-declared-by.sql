-- Up Migration
-- The dataset whose declaration holds the evaluation set's refresh job when the version was
-- published (the manifest says it too); NULL when no declaration had it, and for earlier versions.
ALTER TABLE dataset_catalog ADD COLUMN declared_by text;

-- Down Migration
ALTER TABLE dataset_catalog DROP COLUMN declared_by;
