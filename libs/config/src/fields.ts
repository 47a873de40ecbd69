import path from 'node:path';
import { z } from 'zod';

/** A comma-separated list, e.g. `KAFKA_BROKERS=a:9092,b:9092`. */
export const csv = () =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string()).min(1, 'expected at least one comma-separated value'));

/** An integer given as a string, with bounds. */
export const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

/** `true|false|1|0|yes|no`; anything else is an error (z.coerce.boolean would accept "no" as true). */
export const bool = () =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const url = () => z.url({ message: 'expected a URL' });

/** An absolute path of a local folder, normalised. */
export const absoluteDir = () =>
  z
    .string()
    .refine((p) => path.isAbsolute(p), 'expected an absolute path')
    .transform((p) => path.resolve(p));

/**
 * Where the Kafka cluster is and how to reach it securely: shared by the services and by the
 * `tributary` commands that talk to Kafka, so both take the same variables.
 */
export const kafkaConnectionEnv = {
  KAFKA_BROKERS: csv().describe('Comma-separated host:port list of Kafka brokers'),
  KAFKA_SSL: bool().default(false).describe('Use TLS to reach the brokers'),
  KAFKA_SSL_CA_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      "PEM file of the CA(s) the brokers' certificates must chain to (implies KAFKA_SSL); the system CAs when unset",
    ),
  KAFKA_SASL_MECHANISM: z
    .enum(['plain', 'scram-sha-256', 'scram-sha-512'])
    .optional()
    .describe('SASL mechanism of the brokers; needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD'),
  KAFKA_SASL_USERNAME: z.string().min(1).optional().describe('SASL user'),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional().describe('SASL password'),
};

/** The Kafka connection settings alone, for a process that needs nothing else (the CLI's Kafka commands). */
export const kafkaConnectionSchema = z.object(kafkaConnectionEnv);
export type KafkaConnectionConfig = z.output<typeof kafkaConnectionSchema>;

/** Settings every service shares: broker, registry, database, telemetry, HTTP. */
export const commonEnv = {
  SERVICE_NAME: z.string().min(1).describe('Name used in logs, traces, metrics and the consumer group'),
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HTTP_HOST: z.string().default('127.0.0.1').describe('Interface the HTTP server binds to'),
  HTTP_PORT: int(0, 65535).describe('Port of /healthz, /readyz, /metrics and the admin API'),
  ...kafkaConnectionEnv,
  KAFKA_CLIENT_ID: z.string().optional().describe('Kafka client id (defaults to SERVICE_NAME)'),
  TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"')
    .default('')
    .describe('Namespace put before every topic name, for clusters shared by several deployments'),
  KAFKA_TOPIC_PARTITIONS: int(1, 1000).default(3).describe('Partitions of topics this service creates'),
  KAFKA_TOPIC_REPLICATION: int(1, 10)
    .default(1)
    .describe('Replication factor of topics this service creates'),
  KAFKA_SESSION_TIMEOUT_MS: int(6000, 300_000)
    .default(8000)
    .describe(
      'Consumer-group session timeout: after a crash, the restarted replica consumes again once it expired',
    ),
  KAFKA_FETCH_MAX_WAIT_MS: int(10, 30_000)
    .default(5000)
    .describe(
      'Longest a fetch waits on idle partitions; stopping the consumer waits for its fetch to return',
    ),
  CONSUMER_MAX_RETRIES: int(0, 100).default(3).describe('Attempts after the first before dead-lettering'),
  CONSUMER_RETRY_BASE_MS: int(1).default(500).describe('First retry delay; doubles each attempt'),
  CONSUMER_RETRY_MAX_MS: int(1).default(30_000).describe('Upper bound of a retry delay'),
  SHUTDOWN_GRACE_MS: int(0).default(25_000).describe('How long SIGTERM waits for in-flight work'),
  SCHEMA_REGISTRY_URL: url().describe('Confluent-compatible schema registry base URL'),
  // For TLS: ?sslmode=verify-full in the URL, and DATABASE_SSL_CA_FILE for a private CA.
  DATABASE_URL: url().describe('Postgres connection URL'),
  DATABASE_SSL_CA_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'PEM file of the CA the Postgres server certificate must chain to (as sslrootcert; sslmode defaults to verify-full)',
    ),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'expected a lower-case SQL identifier')
    .optional()
    .describe('Postgres schema owned by this service (defaults to its name)'),
  DATABASE_POOL_MAX: int(1, 200).default(10),
  CATALOG_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'expected a lower-case SQL identifier')
    .default('catalog')
    .describe('Postgres schema of the dataset catalog, shared by every service of a deployment'),
  CATALOG_REFRESH_MS: int(100)
    .default(2000)
    .describe('How often a service checks the catalog for changed declarations'),
  OTEL_EXPORTER_OTLP_ENDPOINT: url()
    .optional()
    .describe('OTLP/HTTP endpoint; traces are not exported when unset'),
  OPENLINEAGE_URL: url()
    .optional()
    .describe('OpenLineage HTTP endpoint (POST <url>/api/v1/lineage); run events are not sent when unset'),
  OPENLINEAGE_NAMESPACE: z.string().min(1).default('tributary').describe('OpenLineage job namespace'),
};

/** An object store: `file:///abs/dir`, `/abs/dir` or `s3://bucket[/prefix]` (see @tributary/storage). */
export const storeUri = () =>
  z
    .string()
    .regex(/^(file:\/\/\/|\/|s3:\/\/[^/]+)/, 'expected file:///abs/dir, /abs/dir or s3://bucket[/prefix]');

/** Settings of S3-compatible object storage, for the services that keep objects. */
export const s3Env = {
  S3_ENDPOINT: url()
    .optional()
    .describe('Endpoint of an S3-compatible service (MinIO, moto); AWS when unset'),
  S3_REGION: z.string().min(1).default('us-east-1').describe('Region of the S3 buckets'),
  S3_FORCE_PATH_STYLE: bool()
    .optional()
    .describe('Path-style S3 URLs (http://host/bucket/key); defaults to true when S3_ENDPOINT is set'),
  S3_ACCESS_KEY_ID: z
    .string()
    .min(1)
    .optional()
    .describe('S3 access key; when unset the AWS SDK default chain (AWS_* variables, profile, role) is used'),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional().describe('S3 secret key, with S3_ACCESS_KEY_ID'),
};

/** Password and TLS of the Redis connections, for the services that use Redis. */
export const redisTlsEnv = {
  REDIS_PASSWORD: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Password of the Redis server(s), from a Secret; overrides a password in REDIS_URL / REDIS_URLS, which may then carry none',
    ),
  REDIS_TLS_CA_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'PEM file of the CA the Redis server certificate must chain to, for rediss:// URLs; the system CAs when unset',
    ),
};

/** The common settings as one schema; `CommonConfig` is what the runtime needs from any service config. */
export const commonSchema = z.object(commonEnv);
export type CommonConfig = z.output<typeof commonSchema>;
