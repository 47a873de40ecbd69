import type { PoolClient } from 'pg';
import { AppError } from '@tributary/errors';

/**
 * The fenced commit of invariant 1: moves `dataset`'s current version from `expected` to `next`
 * only if nobody committed in between. Call it inside the transaction that writes the new version,
 * so a refused fence rolls everything back. The table needs `(dataset text PK, version bigint)`.
 */
export async function compareAndSetVersion(
  client: PoolClient,
  table: string,
  dataset: string,
  expected: number,
  next: number,
): Promise<void> {
  // A programmer's invariant: table names are constants of the code, never input.
  if (!/^[a-z_][a-z0-9_.]*$/.test(table)) throw new Error(`invalid table name ${table}`);
  const { rowCount } = await client.query(
    `UPDATE ${table} SET version = $3 WHERE dataset = $1 AND version = $2`,
    [dataset, expected, next],
  );
  if (rowCount !== 1) {
    throw new AppError(
      'LOCK_ERR_FENCED',
      `Commit of ${dataset} v${next} refused: the master is no longer at v${expected} (a newer holder committed)`,
      { details: { dataset, expected, next } },
    );
  }
}
