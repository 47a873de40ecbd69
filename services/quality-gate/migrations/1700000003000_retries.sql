-- Up Migration
-- Step retries: a run whose task failed for a retriable reason waits as 'retrying' until
-- next_attempt_at, when the due-retries poller runs it again (attempt + 1). No handler sleeps.
ALTER TABLE refresh_runs
  ADD COLUMN attempt integer NOT NULL DEFAULT 1,
  ADD COLUMN next_attempt_at timestamptz;
CREATE INDEX refresh_runs_due_idx ON refresh_runs (next_attempt_at) WHERE status = 'retrying';

-- Down Migration
DROP INDEX refresh_runs_due_idx;
ALTER TABLE refresh_runs DROP COLUMN next_attempt_at, DROP COLUMN attempt;
