-- Up Migration
-- Published data contracts. A name@version never changes: the sha256 of its canonical JSON is kept
-- so that the same version with other content is refused naming both hashes.
CREATE TABLE contracts (
  name text NOT NULL,
  version text NOT NULL,
  sha256 text NOT NULL,
  body jsonb NOT NULL,
  published_at timestamptz NOT NULL DEFAULT now(),
  published_by text NOT NULL,
  PRIMARY KEY (name, version)
);

-- The applied dataset declarations, one row each; generation counts its changes.
CREATE TABLE datasets (
  name text PRIMARY KEY,
  spec jsonb NOT NULL,
  sha256 text NOT NULL,
  generation integer NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text NOT NULL
);

-- Every change of the catalog, never updated: who, when, what (the diff) and the resulting spec.
-- Its revision is what running services poll to learn that something changed.
CREATE TABLE changes (
  revision bigserial PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('dataset', 'contract')),
  name text NOT NULL,
  action text NOT NULL CHECK (action IN ('created', 'updated', 'deleted', 'published')),
  generation integer,
  actor text NOT NULL,
  token_name text,
  diff jsonb NOT NULL,
  spec jsonb,
  changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX changes_name_idx ON changes (kind, name, revision DESC);

-- Down Migration
DROP TABLE changes;
DROP TABLE datasets;
DROP TABLE contracts;
