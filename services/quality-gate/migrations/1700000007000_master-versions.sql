-- Up Migration
-- Every master.versioned of the refreshed dataset the gate consumed: a master source
-- ({"master": true} in REFRESH_SOURCES) reads the version a run names, or the latest one seen for a
-- manual or scheduled run. Versions are immutable, so a redelivery records nothing new.
CREATE TABLE master_versions (
  dataset text NOT NULL,
  version bigint NOT NULL,
  location text NOT NULL,
  checksum text NOT NULL,
  row_count bigint NOT NULL,
  seen_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dataset, version)
);

-- Down Migration
DROP TABLE master_versions;
