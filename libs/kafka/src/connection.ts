import { isIP } from 'node:net';
import tls from 'node:tls';
import { ConfigError, readPemSetting, type KafkaConnectionConfig } from '@tributary/config';
import { ConnectionRefusedError, certificateError, untrustedCertificate } from '@tributary/errors';
import type { Logger } from '@tributary/telemetry';
import type { Kafka } from 'kafkajs';
import { createKafka, type KafkaClientOptions } from './client.ts';

/** kafkajs `ssl`: off, on with the system CAs, or on with the CA file (which implies TLS). */
export function kafkaSsl(config: Readonly<KafkaConnectionConfig>): boolean | { ca: string[] } {
  if (config.KAFKA_SSL_CA_FILE)
    return { ca: [readPemSetting('KAFKA_SSL_CA_FILE', config.KAFKA_SSL_CA_FILE)] };
  return config.KAFKA_SSL;
}

/** kafkajs `sasl`, or undefined; a mechanism without its user and password is refused. */
export function kafkaSasl(config: Readonly<KafkaConnectionConfig>): KafkaClientOptions['sasl'] {
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
 * A client of the cluster the settings name, with their TLS and SASL: what a service and a
 * `tributary` command connect with. Call checkKafkaCertificates before its first connection, and
 * map that connection's failure with kafkaStartError.
 */
export function createSecuredKafka(
  config: Readonly<KafkaConnectionConfig>,
  opts: { clientId: string; logger: Logger },
): Kafka {
  return createKafka({
    clientId: opts.clientId,
    brokers: [...config.KAFKA_BROKERS],
    ssl: kafkaSsl(config),
    sasl: kafkaSasl(config),
    logger: opts.logger,
  });
}

/** Kafka SASL and certificate errors as a ConnectionRefusedError naming the settings; others as they were. */
export function kafkaStartError(config: Readonly<KafkaConnectionConfig>, err: unknown): unknown {
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
 * An untrusted certificate stops at once, naming KAFKA_SSL_CA_FILE; a broker that does not answer
 * is left to kafkajs' retries.
 */
export async function checkKafkaCertificates(config: Readonly<KafkaConnectionConfig>): Promise<void> {
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
