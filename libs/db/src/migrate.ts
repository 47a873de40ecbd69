import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pRetry from 'p-retry';

export interface MigrateOptions {
  url: string;
  schema: string;
  /** Folders of `.sql` migrations (a service's own, plus libs' such as the outbox). */
  dirs: (string | URL)[];
  log?: (msg: string) => void;
}

/**
 * Applies pending migrations into the service's own schema. node-pg-migrate takes an advisory
 * lock, so replicas starting together apply each migration once.
 */
export async function migrate(opts: MigrateOptions): Promise<string[]> {
  // node-pg-migrate fails at once when another process holds the schema's lock instead of waiting:
  // replicas starting together wait for the first one's migration here.
  return pRetry(() => runMigrations(opts), {
    retries: 30,
    minTimeout: 200,
    maxTimeout: 2000,
    shouldRetry: ({ error }) => /Another migration is already running/i.test(error.message),
  });
}

async function runMigrations(opts: MigrateOptions): Promise<string[]> {
  const applied = await runner({
    databaseUrl: opts.url,
    // Several folders need glob mode; migrations are plain SQL files.
    dir: opts.dirs.map((d) => `${(d instanceof URL ? fileURLToPath(d) : d).replace(/\/$/, '')}/*.sql`),
    useGlob: true,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    schema: opts.schema,
    migrationsSchema: opts.schema,
    createSchema: true,
    createMigrationsSchema: true,
    // One lock per schema (the default is one per database): services and tests migrating their
    // own schemas at the same moment must not fail each other with "Another migration is running".
    lockValue: createHash('sha256').update(`tributary-migrate:${opts.schema}`).digest().readUIntBE(0, 6),
    checkOrder: false,
    log: opts.log ?? (() => undefined),
    verbose: false,
  });
  return applied.map((m) => m.name);
}
