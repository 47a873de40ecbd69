-- Up Migration
-- Publishes waiting for a retry: the consumer never sleeps; a poller picks the due rows (SKIP LOCKED)
-- and publishes again. The row goes away when the version is published or finally fails.
CREATE TABLE publish_retries (
  dataset_version text PRIMARY KEY,
  event jsonb NOT NULL,
  run_id text NOT NULL,
  attempt integer NOT NULL,
  next_attempt_at timestamptz,
  last_reason text NOT NULL
);
CREATE INDEX publish_retries_due_idx ON publish_retries (next_attempt_at);

-- Down Migration
DROP TABLE publish_retries;
