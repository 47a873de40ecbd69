import { AppError } from './app-error.ts';
import type { ErrorCode } from './catalog.ts';

/**
 * What a Postgres error means to a caller. Classified where the error enters, so that use cases
 * reason about outcomes ("already done", "try again") instead of SQLSTATE codes.
 */
export type PgErrorKind = 'unique_violation' | 'serialization' | 'connection' | 'constraint' | 'other';

const PG_KIND_BY_SQLSTATE: Readonly<Record<string, PgErrorKind>> = {
  '23505': 'unique_violation',
  '40001': 'serialization',
  '40P01': 'serialization',
  '23503': 'constraint',
  '23502': 'constraint',
  '23514': 'constraint',
  '57P01': 'connection',
  '57P02': 'connection',
  '57P03': 'connection',
  '08000': 'connection',
  '08003': 'connection',
  '08006': 'connection',
  '08001': 'connection',
  '08004': 'connection',
  '53300': 'connection',
};

const NODE_CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Maps a `pg` driver error (or a socket error) to its kind. */
export function classifyPgError(err: unknown): PgErrorKind {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') {
    const msg = err instanceof Error ? err.message : '';
    return /Connection terminated|timeout exceeded when trying to connect/i.test(msg)
      ? 'connection'
      : 'other';
  }
  if (NODE_CONNECTION_CODES.has(code)) return 'connection';
  return PG_KIND_BY_SQLSTATE[code] ?? 'other';
}

const PG_CODE_BY_KIND = {
  unique_violation: 'DB_ERR_UNIQUE_VIOLATION',
  serialization: 'DB_ERR_SERIALIZATION',
  connection: 'DB_ERR_CONNECTION',
  constraint: 'DB_ERR_CONSTRAINT',
  other: 'DB_ERR_OTHER',
} as const satisfies Record<PgErrorKind, ErrorCode>;

/** Wraps a Postgres error into an AppError; the catalog gives each kind's retriable flag. */
export function pgToAppError(err: unknown): AppError {
  const kind = classifyPgError(err);
  const message = err instanceof Error ? err.message : String(err);
  return new AppError(PG_CODE_BY_KIND[kind], message, { cause: err, details: { kind } });
}
