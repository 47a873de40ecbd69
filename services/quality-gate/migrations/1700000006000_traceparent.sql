-- Up Migration
-- traceparent: W3C trace context of the run's span when it was created. A retry or the stale-run
-- recovery continues that trace, so spans, logs (dag_run_id) and the traceparent of the run's
-- quality.evaluated keep the run id. Null for runs created before it was stored (a new trace then).
ALTER TABLE refresh_runs ADD COLUMN traceparent text;

-- Down Migration
ALTER TABLE refresh_runs DROP COLUMN traceparent;
