-- Up Migration
-- Messages this service has fully handled, by event id: a redelivered event is acknowledged, not redone.
CREATE TABLE processed_events (
  event_id text PRIMARY KEY,
  topic text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE processed_events;
