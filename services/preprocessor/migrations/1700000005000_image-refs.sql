-- Up Migration
-- How many rows of each dataset's current master version link to each image (relpath in the
-- master directory). A merge adds the batch's rows and subtracts the rows it replaces, in the
-- transaction of its commit; an image whose count reaches zero leaves the new version
-- (master_files.removed_in), older versions keep it. A row exists only while refs > 0.
CREATE TABLE image_refs (
  dataset text NOT NULL,
  relpath text NOT NULL,
  refs bigint NOT NULL CHECK (refs > 0),
  PRIMARY KEY (dataset, relpath)
);

-- The counts live in the Parquet parts, which SQL cannot read: a master committed before this
-- migration has no counts yet (false here), and its next merge with an image column counts the
-- references of every part once, then keeps the counts up to date. A master created from now on
-- starts with complete (empty) counts.
ALTER TABLE masters ADD COLUMN image_refs_ready boolean NOT NULL DEFAULT false;
ALTER TABLE masters ALTER COLUMN image_refs_ready SET DEFAULT true;

-- Down Migration
ALTER TABLE masters DROP COLUMN image_refs_ready;
DROP TABLE image_refs;
