-- Up Migration
-- W3C traceparent of the run's context when a notification was claimed: its retries, and the
-- recovery of a claim whose replica died, run in the run's trace (trace id = run id, `dag_run_id` in
-- their log lines) instead of a trace of their own. NULL for rows claimed before it was kept.
ALTER TABLE notifications ADD COLUMN traceparent text;

-- Down Migration
ALTER TABLE notifications DROP COLUMN traceparent;
