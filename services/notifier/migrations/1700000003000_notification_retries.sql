-- Up Migration
-- Delivery retries without blocking the consumer: a failed send is parked here with its payload and
-- due time; a poller sends it again. status: sent | retrying | sending | failed.
ALTER TABLE notifications
  ADD COLUMN status text NOT NULL DEFAULT 'sent',
  ADD COLUMN attempt integer NOT NULL DEFAULT 1,
  ADD COLUMN payload jsonb,
  ADD COLUMN next_attempt_at timestamptz,
  ADD COLUMN last_error text;
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE status = 'retrying';

-- Down Migration
DROP INDEX notifications_due_idx;
ALTER TABLE notifications DROP COLUMN last_error, DROP COLUMN next_attempt_at, DROP COLUMN payload,
  DROP COLUMN attempt, DROP COLUMN status;
