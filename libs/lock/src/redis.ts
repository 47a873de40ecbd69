import { readFileSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';
import { ConnectionRefusedError, certificateError, untrustedCertificate } from '@tributary/errors';

export interface RedisClientOptions {
  /** PEM file of the CA a rediss:// server's certificate must chain to (REDIS_TLS_CA_FILE). */
  tlsCaFile?: string | undefined;
  /** The server's password (REDIS_PASSWORD), instead of the one in the URL. */
  password?: string | undefined;
  maxRetriesPerRequest?: number;
}

/**
 * An ioredis client for a redis:// or rediss:// URL; the password (and user) come from the URL
 * (`redis://:password@host:port`, `rediss://user:password@host:port`).
 */
export function createRedis(url: string, opts: RedisClientOptions = {}): Redis {
  const options: RedisOptions = { maxRetriesPerRequest: opts.maxRetriesPerRequest ?? 2 };
  if (opts.password !== undefined) {
    // ioredis prefers a password in the URL over the option: the setting wins, so the URL loses its own.
    options.password = opts.password;
    const u = new URL(url);
    u.password = '';
    url = u.toString();
  }
  if (opts.tlsCaFile) {
    // ioredis turns TLS on for rediss:// by itself; the CA goes in its tls options.
    options.tls = { ca: readFileSync(opts.tlsCaFile, 'utf8') };
    if (!url.startsWith('rediss:')) {
      throw new ConnectionRefusedError(
        'Redis',
        'certificate',
        `REDIS_TLS_CA_FILE is set but ${redisAddress(url)} is not a rediss:// URL`,
      );
    }
  }
  const client = new Redis(url, options);
  if (opts.password !== undefined) passwordSet.add(client);
  // ioredis reports a failed connection as an 'error' event, printed with a stack when nobody
  // listens, then reconnects. Commands fail with the error (readiness shows it); the last one is
  // kept for verifyRedis, which may start listening after the first attempt failed.
  client.on('error', (err: Error) => lastErrors.set(client, err));
  client.on('ready', () => lastErrors.delete(client));
  return client;
}

const lastErrors = new WeakMap<Redis, Error>();
/** Clients whose password came from REDIS_PASSWORD rather than their URL: a refusal names that setting. */
const passwordSet = new WeakSet<Redis>();

/** host:port of a Redis URL, without credentials, for messages. */
export function redisAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}:${u.port || '6379'}`;
  } catch {
    return '(invalid URL)';
  }
}

const AUTH_REFUSED = /^(WRONGPASS|NOAUTH)|without any password configured|invalid password/i;

/**
 * Waits for a client's first connection to settle. A refused password or an untrusted certificate
 * rejects with a ConnectionRefusedError naming the setting; a server that is not reachable yet
 * does not (ioredis keeps reconnecting and readiness reports it), nor does a slow one after
 * `timeoutMs`.
 */
export function verifyRedis(
  client: Redis,
  opts: { url: string; urlSetting: string; caSetting?: string; timeoutMs?: number },
): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const finish = (err?: Error) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => finish();
    const earlier = lastErrors.get(client);
    const onError = (err: Error) => {
      const cert = certificateError(err);
      if (cert) return finish(untrustedCertificate('Redis', cert, opts.caSetting ?? 'REDIS_TLS_CA_FILE'));
      if (AUTH_REFUSED.test(err.message)) {
        return finish(
          new ConnectionRefusedError(
            'Redis',
            'authentication',
            `Redis: authentication failed at ${redisAddress(opts.url)} (${err.message}); ${passwordSet.has(client) ? 'check REDIS_PASSWORD' : `check the password in ${opts.urlSetting}`}`,
            err,
          ),
        );
      }
      finish(); // unreachable for now: not a start-up failure
    };
    const timer = setTimeout(() => finish(), opts.timeoutMs ?? 10_000);
    client.on('ready', onReady);
    client.on('error', onError);
    if (earlier) onError(earlier);
  });
}
