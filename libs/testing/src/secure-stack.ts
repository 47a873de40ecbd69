import { execFile } from 'node:child_process';
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
  /** Stops the servers this call started; those already running are left as they were. */
  release(): Promise<void>;
}

/**
 * The secured servers of scripts/secure-stack.sh (SASL_SSL Kafka, TLS-only Postgres, Redis with a
 * password), started when they are not running, with their settings.
 */
export async function useSecureStack(
  servers: readonly SecuredServer[] = ['kafka', 'postgres', 'redis'],
): Promise<SecureStack> {
  const started: SecuredServer[] = [];
  for (const server of servers) {
    const up = await run(SCRIPT, ['status', server]).then(
      () => true,
      () => false,
    );
    if (!up) started.push(server);
  }
  if (started.length > 0) await run(SCRIPT, ['up', ...started], { timeout: 150_000 });
  const script = `eval "$("$0" env)"; for v in ${SECURED_SETTINGS.join(' ')}; do printf '%s=%s\\n' "$v" "\${!v}"; done`;
  const { stdout } = await run('bash', ['-c', script, SCRIPT]);
  const settings = Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
  ) as SecuredSettings;
  return {
    settings,
    release: async () => {
      if (started.length > 0) await run(SCRIPT, ['down', ...started], { timeout: 60_000 });
    },
  };
}
