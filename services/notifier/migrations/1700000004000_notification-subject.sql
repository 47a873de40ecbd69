-- Up Migration
-- The column keys what a notification is about: a dataset version, or dead-letter/<service>/<event id>
-- for the operators' dead-letter messages (kind ops-slack). Only its meaning grows; the data stays.
COMMENT ON COLUMN notifications.dataset_version IS
  'What the notification is about: a dataset version, or dead-letter/<service>/<event id>';

-- Down Migration
COMMENT ON COLUMN notifications.dataset_version IS NULL;
