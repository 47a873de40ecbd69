-- Up Migration
-- Deliveries are durable jobs (libs/jobs, pg-boss tables in the schema <schema>_jobs): a claim
-- records the notification here and sends its job in one transaction; job_id names that job. The
-- retry poller's columns (payload, next_attempt_at, claimed_at, traceparent) are read once more at
-- start, to hand the rows an older release parked over to jobs, and go in a later release.
ALTER TABLE notifications ADD COLUMN job_id text;

-- Down Migration
ALTER TABLE notifications DROP COLUMN job_id;
