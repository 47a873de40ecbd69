import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { ConfigError, type CommonConfig } from '@tributary/config';
import { ConnectionRefusedError, certificateError, untrustedCertificate } from '@tributary/errors';
import type { KafkaClientOptions } from '@tributary/kafka';

/** Reads a PEM file named by a setting; a missing or unreadable file is a configuration error. */
export function readPemSetting(setting: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${setting}: cannot read ${file} (${(err as Error).message})`]);
  }
}

/** kafkajs `ssl`: off, on with the system CAs, or on with the CA file (which implies TLS). */
export function kafkaSsl(config: Readonly<CommonConfig>): boolean | { ca: string[] } {
  if (config.KAFKA_SSL_CA_FILE)
    return { ca: [readPemSetting('KAFKA_SSL_CA_FILE', config.KAFKA_SSL_CA_FILE)] };
  return config.KAFKA_SSL;
}

/** kafkajs `sasl`, or undefined; a mechanism without its user and password is refused. */
export function kafkaSasl(config: Readonly<CommonConfig>): KafkaClientOptions['sasl'] {
  const {
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: username,
    KAFKA_SASL_PASSWORD: password,
  } = config;
  if (!mechanism) {
    if (username || password) {
      throw new ConfigError(['KAFKA_SASL_MECHANISM: required with KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD']);
    }
    return undefined;
  }
  const missing = [username ? [] : ['KAFKA_SASL_USERNAME'], password ? [] : ['KAFKA_SASL_PASSWORD']].flat();
  if (!username || !password) {
    throw new ConfigError(missing.map((name) => `${name}: required with KAFKA_SASL_MECHANISM=${mechanism}`));
  }
  return { mechanism, username, password };
}

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

/** Kafka SASL errors as a ConnectionRefusedError naming the settings; others as they were. */
export function kafkaStartError(config: Readonly<CommonConfig>, err: unknown): unknown {
  const cert = certificateError(err);
  if (cert) return untrustedCertificate('Kafka', cert, 'KAFKA_SSL_CA_FILE');
  if (err instanceof Error && /SASL/i.test(err.name) && /authentication/i.test(err.message)) {
    return new ConnectionRefusedError(
      'Kafka',
      'authentication',
      `Kafka: SASL authentication failed for user ${config.KAFKA_SASL_USERNAME ?? '(none)'} (${err.message}); check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM`,
      err,
    );
  }
  return err;
}

/**
 * One TLS handshake with each broker before kafkajs connects: kafkajs retries a failed handshake
 * as a connection error (about a minute of back-off) and then reports only "Connection error".
 * An untrusted certificate stops the start at once, naming KAFKA_SSL_CA_FILE; a broker that does
 * not answer is left to kafkajs' retries.
 */
export async function checkKafkaCertificates(config: Readonly<CommonConfig>): Promise<void> {
  const ssl = kafkaSsl(config);
  if (!ssl) return;
  const ca = typeof ssl === 'object' ? ssl.ca : undefined;
  for (const broker of config.KAFKA_BROKERS) {
    const at = broker.lastIndexOf(':');
    const host = broker.slice(0, at);
    const port = Number(broker.slice(at + 1));
    const failure = await new Promise<Error | undefined>((resolve) => {
      const socket = tls.connect({
        host,
        port,
        ...(ca ? { ca } : {}),
        // SNI takes host names only; the certificate is still checked against the IP address.
        ...(isIP(host) === 0 ? { servername: host } : {}),
        timeout: 5000,
      });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', (err: Error) => {
        socket.destroy();
        resolve(err);
      });
      socket.once('timeout', () => {
        socket.destroy();
        resolve(undefined);
      });
    });
    const cert = certificateError(failure);
    if (cert) throw untrustedCertificate(`Kafka`, new CertificateOf(broker, cert), 'KAFKA_SSL_CA_FILE');
  }
}

/** A certificate error with the broker it came from. */
class CertificateOf extends Error {
  readonly code: string | undefined;
  constructor(broker: string, err: Error) {
    super(`${broker}: ${err.message}`, { cause: err });
    this.code = 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  }
}
