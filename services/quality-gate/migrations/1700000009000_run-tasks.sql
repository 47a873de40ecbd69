-- Up Migration
-- When each task of each attempt of a run started (recorded by the heartbeat at the task's start):
-- the runs grid and a run's page show each task's state and timing. A task ends when the next one
-- of its attempt starts, or with the attempt.
CREATE TABLE refresh_run_tasks (
  dataset_version text NOT NULL REFERENCES refresh_runs (dataset_version) ON DELETE CASCADE,
  attempt integer NOT NULL,
  task text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dataset_version, attempt, task)
);

-- Down Migration
DROP TABLE refresh_run_tasks;
