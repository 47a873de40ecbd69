import { readPemSetting, type CommonConfig } from '@tributary/config';
import { ConnectionRefusedError, certificateError, untrustedCertificate } from '@tributary/errors';

/**
 * DATABASE_URL with DATABASE_SSL_CA_FILE folded in as libpq's `sslrootcert` (pg reads it into its
 * `ssl.ca`; options given beside a connection string would be overridden by it) and `sslmode`
 * defaulting to verify-full when a CA is given.
 */
export function databaseUrl(config: Readonly<CommonConfig>): string {
  if (!config.DATABASE_SSL_CA_FILE) return config.DATABASE_URL;
  readPemSetting('DATABASE_SSL_CA_FILE', config.DATABASE_SSL_CA_FILE); // fail early, naming the setting
  const url = new URL(config.DATABASE_URL);
  if (!url.searchParams.has('sslrootcert')) url.searchParams.set('sslrootcert', config.DATABASE_SSL_CA_FILE);
  if (!url.searchParams.has('sslmode')) url.searchParams.set('sslmode', 'verify-full');
  return url.href;
}

/** The user name of DATABASE_URL, for messages. */
function databaseUser(config: Readonly<CommonConfig>): string {
  try {
    return decodeURIComponent(new URL(config.DATABASE_URL).username) || '(default)';
  } catch {
    return '(unknown)';
  }
}

/**
 * Postgres errors that waiting will not cure, as a ConnectionRefusedError naming the setting to
 * fix; anything else is returned as it was.
 */
export function postgresStartError(config: Readonly<CommonConfig>, err: unknown): unknown {
  const cert = certificateError(err);
  if (cert) {
    return untrustedCertificate(
      'Postgres',
      cert,
      config.DATABASE_SSL_CA_FILE
        ? 'DATABASE_SSL_CA_FILE'
        : 'DATABASE_SSL_CA_FILE (or sslrootcert in DATABASE_URL)',
    );
  }
  const code = err instanceof Error && 'code' in err ? err.code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (code === '28P01') {
    return new ConnectionRefusedError(
      'Postgres',
      'authentication',
      `Postgres: password authentication failed for user ${databaseUser(config)}; check the password in DATABASE_URL`,
      err,
    );
  }
  if (code === '28000') {
    return new ConnectionRefusedError(
      'Postgres',
      'refused',
      `Postgres: the server refused the connection (${message}); check the user and sslmode in DATABASE_URL`,
      err,
    );
  }
  if (/does not support SSL/i.test(message)) {
    return new ConnectionRefusedError(
      'Postgres',
      'refused',
      `Postgres: ${message}; remove sslmode from DATABASE_URL or enable TLS on the server`,
      err,
    );
  }
  return err;
}
