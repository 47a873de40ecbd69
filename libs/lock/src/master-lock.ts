import type { Redis } from 'ioredis';
// Only the default export: redlock's ESM build sits in a package without "type": "module", so
// Node's loader cannot see its named exports (types are fine).
import Redlock, { type Lock } from 'redlock';
import { AppError } from '@tributary/errors';
import { Histogram, type Registry } from '@tributary/telemetry';
import { createRedis, verifyRedis } from './redis.ts';

export interface MasterLockOptions {
  /** One Redis URL, or five independent nodes for the full Redlock quorum. */
  redisUrls: string[];
  /** PEM file of the CA of rediss:// nodes (REDIS_TLS_CA_FILE). */
  tlsCaFile?: string | undefined;
  /** The nodes' password (REDIS_PASSWORD), instead of the one in their URLs. */
  password?: string | undefined;
  /** Lock lifetime; it is extended automatically while the holder is alive. */
  ttlMs?: number;
  /** How long a contender waits for the lock before giving up (retriable). */
  maxWaitMs?: number;
  metricsRegistry?: Registry;
}

/**
 * Redlock over ioredis, serialising merges of one master across all replicas. The lock alone is
 * not enough (a stalled holder's lock can expire), so every commit is also fenced in Postgres:
 * see `compareAndSetVersion`.
 */
export class MasterLock {
  readonly clients: Redis[];
  private readonly urls: string[];
  private readonly redlock: Redlock;
  private readonly ttlMs: number;
  private readonly waitSeconds: Histogram<'resource'> | undefined;

  constructor(opts: MasterLockOptions) {
    this.urls = opts.redisUrls;
    this.clients = opts.redisUrls.map((url) =>
      createRedis(url, { tlsCaFile: opts.tlsCaFile, password: opts.password, maxRetriesPerRequest: 2 }),
    );
    this.ttlMs = opts.ttlMs ?? 30_000;
    const retryDelay = 200;
    this.redlock = new Redlock(this.clients, {
      retryDelay,
      retryJitter: 100,
      retryCount: Math.ceil((opts.maxWaitMs ?? 10 * 60_000) / retryDelay),
      automaticExtensionThreshold: Math.min(5000, Math.floor(this.ttlMs / 3)),
    });
    // Redlock emits errors for nodes that fail during extension; the holder learns via the signal.
    this.redlock.on('error', () => undefined);
    if (opts.metricsRegistry) {
      this.waitSeconds = new Histogram({
        name: 'lock_wait_seconds',
        help: 'Time spent waiting for the master lock',
        labelNames: ['resource'],
        buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 15, 60, 300],
        registers: [opts.metricsRegistry],
      });
    }
  }

  /**
   * Runs `fn` while holding `master:<name>`. `signal` aborts if the lock could not be extended,
   * in which case `fn` must stop before committing (the fence would refuse it anyway).
   */
  async withLock<T>(name: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const resource = `tributary:master:${name}`;
    const started = process.hrtime.bigint();
    let acquiredAt: bigint | undefined;
    try {
      return await this.redlock.using([resource], this.ttlMs, async (signal) => {
        acquiredAt = process.hrtime.bigint();
        this.waitSeconds?.observe({ resource: name }, Number(acquiredAt - started) / 1e9);
        return fn(signal);
      });
    } catch (err) {
      if (acquiredAt === undefined && err instanceof Error && err.name === 'ExecutionError') {
        throw new AppError('LOCK_ERR_TIMEOUT', `Timed out waiting for the lock on master ${name}`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  /** Low-level acquire without automatic extension (tests simulate a stalled holder with it). */
  acquire(name: string, ttlMs: number): Promise<Lock> {
    return this.redlock.acquire([`tributary:master:${name}`], ttlMs);
  }

  /**
   * At start-up: fails when a node refuses the password or its certificate is not trusted, naming
   * the setting (`urlSetting`: REDIS_URL or REDIS_URLS); unreachable nodes are left to readiness.
   */
  async verify(urlSetting: string): Promise<void> {
    await Promise.all(this.clients.map((c, i) => verifyRedis(c, { url: this.urls[i]!, urlSetting })));
  }

  async ping(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.ping()));
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.quit().catch(() => c.disconnect())));
  }
}
