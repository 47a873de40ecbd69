import pg from 'pg';
import { isAppError, pgToAppError } from '@tributary/errors';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  url: string;
  /** The service's own schema; put first on the search_path so its tables need no prefix. */
  schema: string;
  max?: number;
  applicationName?: string;
}

// int8 (bigint) columns come back as JS numbers: row counts and versions stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export function createPool(opts: PoolOptions): Pool {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? opts.schema,
    options: `-c search_path=${opts.schema},public`,
    connectionTimeoutMillis: 5000,
  });
  // A client losing its connection (a database restart ends every session with 57P01) must not
  // crash the process: pg emits 'error' on the client, and the pool only listens while it is idle.
  // Checked-out clients (a transaction, a relay's leader session) get a listener of their own; the
  // query in flight fails with the error, and the next one gets a new connection.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

/** Runs `fn` in one transaction; errors roll back and come out classified (see classifyPgError). */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect().catch((err: unknown) => {
    throw pgToAppError(err);
  });
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    // An AppError thrown by `fn` (a refusal) keeps its code; only driver errors are classified.
    throw !isAppError(err) && err instanceof Error && 'code' in err && typeof err.code === 'string'
      ? pgToAppError(err)
      : err;
  } finally {
    client.release();
  }
}

/** For /readyz. */
export async function pingDb(pool: Pool): Promise<void> {
  await pool.query('SELECT 1');
}
