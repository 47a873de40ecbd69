-- Up Migration
-- When a row was last claimed: one left 'sending' past NOTIFY_SENDING_LEASE_MS belongs to a replica
-- that died between the claim and the delivery (SIGKILL, OOM), and the retry poller takes it again.
-- The payload is now kept from the claim on so that it can be resent. Rows being sent while this
-- migration runs count from now.
ALTER TABLE notifications ADD COLUMN claimed_at timestamptz;
UPDATE notifications SET claimed_at = now() WHERE status = 'sending';
CREATE INDEX notifications_claimed_idx ON notifications (claimed_at) WHERE status = 'sending';

-- Down Migration
DROP INDEX notifications_claimed_idx;
ALTER TABLE notifications DROP COLUMN claimed_at;
