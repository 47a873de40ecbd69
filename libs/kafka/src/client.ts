import './request-queue.ts';
import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { Logger } from '@tributary/telemetry';

export interface KafkaClientOptions {
  clientId: string;
  brokers: string[];
  /** TLS: off, on with the system CAs, or on with these CAs (PEM), e.g. from KAFKA_SSL_CA_FILE. */
  ssl?: boolean | { ca: string[] };
  sasl?:
    | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
    | undefined;
  logger: Logger;
}

const LEVEL: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs warns at every producer start that limited retries "may invalidate EoS guarantees". We
 * limit them on purpose (a send that fails is retried by the outbox relay or the consumer runner),
 * and exactly-once comes from consumers deduplicating on event ids, so the line is only noise.
 */
const EXPECTED_WARNINGS = new Set([
  'Limiting retries for the idempotent producer may invalidate EoS guarantees',
]);

/** A kafkajs client whose own logs go through the service's pino logger. */
export function createKafka(opts: KafkaClientOptions): Kafka {
  const config: KafkaConfig = {
    clientId: opts.clientId,
    brokers: opts.brokers,
    ssl: opts.ssl ?? false,
    connectionTimeout: 5000,
    retry: { initialRetryTime: 200, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        const { message, ...extra } = log;
        if (EXPECTED_WARNINGS.has(message)) return;
        opts.logger[LEVEL[level] ?? 'info']({ kafka: namespace, ...extra }, message);
      },
  };
  if (opts.sasl) config.sasl = opts.sasl as SASLOptions;
  return new Kafka(config);
}
