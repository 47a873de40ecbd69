-- Up Migration
-- The per-key index (master_keys → master_segments) cost more to maintain than the merge it
-- served (seconds per million keys); parts carry a zone map instead: the smallest and largest
-- value of the leading primary-key column, as text. See docs/data-pipeline.md.
ALTER TABLE master_files ADD COLUMN key_min text, ADD COLUMN key_max text;
DROP TABLE master_keys;
DROP TABLE master_segments;

-- Down Migration
CREATE TABLE master_segments (
  dataset text NOT NULL,
  segment_no bigint NOT NULL,
  part_no bigint NOT NULL,
  PRIMARY KEY (dataset, segment_no)
);
CREATE INDEX master_segments_part_idx ON master_segments (dataset, part_no);
CREATE TABLE master_keys (
  dataset text NOT NULL,
  key text NOT NULL,
  segment_no bigint NOT NULL,
  PRIMARY KEY (dataset, key)
);
ALTER TABLE master_files DROP COLUMN key_min, DROP COLUMN key_max;
