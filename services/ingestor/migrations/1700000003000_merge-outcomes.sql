-- Up Migration
-- What the preprocessor made of an ingested batch, learnt from its events: merged into a master
-- version (master.versioned) or rejected as a whole (batch.rejected, stage VALIDATE or MERGE). The
-- landing zone settles a batch on this, as the seed releases its lock only after master versioning.
ALTER TABLE batches
  ADD COLUMN merge_status text CHECK (merge_status IN ('MERGED', 'REJECTED')),
  ADD COLUMN master_version bigint,
  ADD COLUMN merge_error_code text,
  ADD COLUMN merge_reason text,
  ADD COLUMN merge_report_uri text,
  ADD COLUMN merge_rows_rejected bigint,
  ADD COLUMN merge_decided_at timestamptz;

-- Down Migration
ALTER TABLE batches
  DROP COLUMN merge_status,
  DROP COLUMN master_version,
  DROP COLUMN merge_error_code,
  DROP COLUMN merge_reason,
  DROP COLUMN merge_report_uri,
  DROP COLUMN merge_rows_rejected,
  DROP COLUMN merge_decided_at;
