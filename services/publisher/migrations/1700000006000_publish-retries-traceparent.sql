-- Up Migration
-- W3C traceparent of the run's context when the publish was parked: the retry continues the run's
-- trace (trace id = run id) instead of opening a new one. NULL for rows parked before it was kept.
ALTER TABLE publish_retries ADD COLUMN traceparent text;

-- Down Migration
ALTER TABLE publish_retries DROP COLUMN traceparent;
