-- Up Migration
-- One decision per master version AND model: a dataset's declaration may bind several models
-- (retrain_policies), each decided, and requested, at most once per master version. Existing rows
-- were made by the single env policy (MLFLOW_MODEL_NAME): they keep their model_name and stay unique
-- under the wider key.
ALTER TABLE retrain_decisions DROP CONSTRAINT retrain_decisions_master_key;
ALTER TABLE retrain_decisions
  ADD CONSTRAINT retrain_decisions_model_key UNIQUE (dataset, master_version, model_name);

-- Which policy decided: 'catalog' (a retrain_policies entry of the dataset's declaration, read at
-- catalog_revision) or 'environment' (the implicit MLFLOW_MODEL_NAME policy of undeclared datasets).
-- NULL for a master version decided for no model (undeclared dataset, or no retrain policy); such a
-- row has model_name '' so that the unique key still makes it once per master version.
ALTER TABLE retrain_decisions ADD COLUMN policy_source text;
ALTER TABLE retrain_decisions ADD COLUMN catalog_revision bigint;
UPDATE retrain_decisions SET policy_source = 'environment';
ALTER TABLE retrain_decisions
  ADD CONSTRAINT retrain_decisions_policy_source_check
  CHECK (
    coalesce(policy_source, '') IN ('catalog', 'environment', '')
    AND (policy_source IS NULL) = (model_name = '')
  );

-- A decision for no model has no threshold.
ALTER TABLE retrain_decisions ALTER COLUMN threshold_rows DROP NOT NULL;

-- The superseded rule looks up the newest decided version per (dataset, model).
CREATE INDEX retrain_decisions_model_idx ON retrain_decisions (dataset, model_name, master_version DESC);

-- Down Migration
DELETE FROM retrain_decisions WHERE model_name = '';
ALTER TABLE retrain_decisions ALTER COLUMN threshold_rows SET NOT NULL;
DROP INDEX retrain_decisions_model_idx;
ALTER TABLE retrain_decisions DROP CONSTRAINT retrain_decisions_policy_source_check;
ALTER TABLE retrain_decisions DROP COLUMN catalog_revision;
ALTER TABLE retrain_decisions DROP COLUMN policy_source;
ALTER TABLE retrain_decisions DROP CONSTRAINT retrain_decisions_model_key;
-- Fails when a master version was decided for several models: keep one row per version first.
ALTER TABLE retrain_decisions
  ADD CONSTRAINT retrain_decisions_master_key UNIQUE (dataset, master_version);
