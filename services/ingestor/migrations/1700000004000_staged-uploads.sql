-- Up Migration
-- Digests of the files of HTTP uploads, taken while the ingestor stored them in the data store's
-- upload staging: the ingest of such a file copies it into raw/ without reading it again.
CREATE TABLE staged_uploads (
  key text PRIMARY KEY,
  sha256 text NOT NULL,
  md5 text NOT NULL,
  size_bytes bigint NOT NULL,
  staged_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE staged_uploads;
