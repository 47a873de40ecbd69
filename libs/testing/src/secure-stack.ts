import { execFile, execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../../scripts/secure-stack.sh', import.meta.url));

/** The settings `eval "$(scripts/secure-stack.sh env)"` exports for the secured servers. */
export const SECURED_SETTINGS = [
  'KAFKA_BROKERS',
  'KAFKA_SSL',
  'KAFKA_SSL_CA_FILE',
  'KAFKA_SASL_MECHANISM',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
  'DATABASE_URL',
  'DATABASE_SSL_CA_FILE',
  'REDIS_URL',
  'REDIS_TLS_CA_FILE',
] as const;
export type SecuredSettings = Record<(typeof SECURED_SETTINGS)[number], string>;

export type SecuredServer = 'kafka' | 'postgres' | 'redis';

export interface SecureStack {
  settings: SecuredSettings;
}

const SERVERS: readonly SecuredServer[] = ['kafka', 'postgres', 'redis'];
// Test files run in parallel: one start at a time, so a second file finds the server up (--close:
// the servers started under the lock must not inherit it).
const LOCK = join(tmpdir(), 'tributary-secure-stack.lock');

/**
 * The secured servers of scripts/secure-stack.sh (SASL_SSL Kafka, TLS-only Postgres, Redis with a
 * password), started when they are not running, with their settings. They stay up for the other
 * files of the run; the run's global teardown stops those it started (secureServersTeardown).
 */
export async function useSecureStack(servers: readonly SecuredServer[] = SERVERS): Promise<SecureStack> {
  await run('flock', ['--close', LOCK, SCRIPT, 'up', ...servers], { timeout: 150_000 });
  const script = `eval "$("$0" env)"; for v in ${SECURED_SETTINGS.join(' ')}; do printf '%s=%s\\n' "$v" "\${!v}"; done`;
  const { stdout } = await run('bash', ['-c', script, SCRIPT]);
  const settings = Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
  ) as SecuredSettings;
  return { settings };
}

async function running(server: SecuredServer): Promise<boolean> {
  return run(SCRIPT, ['status', server]).then(
    () => true,
    () => false,
  );
}

/**
 * Called by the global setup before any test: returns the teardown that stops the secured servers
 * the run's tests started (those running before the run are left as they were).
 */
export async function secureServersTeardown(): Promise<() => Promise<void>> {
  const before = new Set<SecuredServer>();
  for (const server of SERVERS) if (await running(server)) before.add(server);
  return async () => {
    const started: SecuredServer[] = [];
    for (const server of SERVERS) if (!before.has(server) && (await running(server))) started.push(server);
    if (started.length > 0)
      await run('flock', ['--close', LOCK, SCRIPT, 'down', ...started], { timeout: 60_000 });
  };
}

/** Writes a fresh CA into `dir` that the secured servers' certificates do not chain to; returns its path. */
export function untrustedCaFile(dir: string): string {
  const file = join(dir, 'untrusted-ca.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=Some other CA'].concat([
      '-keyout',
      join(dir, 'untrusted-ca.key'),
      '-out',
      file,
    ]),
    { stdio: 'ignore' },
  );
  return file;
}
