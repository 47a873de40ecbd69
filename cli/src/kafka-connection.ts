import type { Kafka } from 'kafkajs';
import { kafkaConnectionSchema, loadConfig, type KafkaConnectionConfig } from '@tributary/config';
import { checkKafkaCertificates, createSecuredKafka, kafkaStartError } from '@tributary/kafka/connection';
import { createLogger } from '@tributary/telemetry';

/** What `--help` says of the settings, which are the services' own. */
export const KAFKA_SETTINGS_HELP = `
Kafka is reached with the services' own settings, from the environment: KAFKA_BROKERS (or --brokers),
KAFKA_SSL, KAFKA_SSL_CA_FILE (implies TLS), KAFKA_SASL_MECHANISM (plain, scram-sha-256, scram-sha-512)
with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD. A secured schema registry is an https:// URL
(NODE_EXTRA_CA_CERTS for a private CA).`;

/** The Kafka settings of the environment, parsed as the services parse them; `brokers` (--brokers) first. */
export function kafkaSettings(
  brokers: string | undefined,
  env: Record<string, string | undefined> = process.env,
): Readonly<KafkaConnectionConfig> {
  return loadConfig(kafkaConnectionSchema, { ...env, ...(brokers ? { KAFKA_BROKERS: brokers } : {}) });
}

/**
 * Runs `work` with a client of the cluster the settings name: each broker's certificate is checked
 * first, and a refused SASL password or an untrusted certificate ends the command with the
 * services' message naming the setting to fix.
 */
export async function withKafka<T>(
  settings: Readonly<KafkaConnectionConfig>,
  clientId: string,
  work: (kafka: Kafka) => Promise<T>,
): Promise<T> {
  await checkKafkaCertificates(settings);
  const kafka = createSecuredKafka(settings, {
    clientId,
    logger: createLogger({ serviceName: 'tributary-cli', level: 'error', destination: process.stderr }),
  });
  try {
    return await work(kafka);
  } catch (err) {
    throw kafkaStartError(settings, err);
  }
}
