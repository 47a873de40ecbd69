-- Up Migration
-- Notifications sent, one per kind (slack, email, pagerduty) and dataset version: the primary key
-- is what keeps a redelivered event from paging or mailing twice.
CREATE TABLE notifications (
  kind text NOT NULL,
  dataset_version text NOT NULL,
  sent_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, dataset_version)
);

-- Down Migration
DROP TABLE notifications;
