-- Up Migration
-- Files of a merged batch no row links to (a README, an image no row names), as master.versioned
-- announced them: kept in the raw snapshot, not merged, and told to the producer.
ALTER TABLE batches ADD COLUMN merge_unreferenced_files text[];

-- Down Migration
ALTER TABLE batches DROP COLUMN merge_unreferenced_files;
