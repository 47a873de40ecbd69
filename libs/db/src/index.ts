export { createPool, pingDb, withTransaction, type Pool, type PoolClient, type PoolOptions } from './pool.ts';
export { migrate, type MigrateOptions } from './migrate.ts';
