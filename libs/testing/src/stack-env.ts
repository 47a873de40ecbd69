/**
 * Addresses of the local stack (scripts/stack.sh), overridable by the same variables the
 * services read. Tests and benchmarks use this instead of reading process.env themselves.
 */
export const stackEnv = Object.freeze({
  KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
  SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
  DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://tributary:tributary@127.0.0.1:5432/tributary',
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  MLFLOW_TRACKING_URI: process.env.MLFLOW_TRACKING_URI ?? 'http://127.0.0.1:5000',
  S3_ENDPOINT: process.env.S3_ENDPOINT ?? 'http://127.0.0.1:9000',
  JAEGER_QUERY_URL: process.env.JAEGER_QUERY_URL ?? 'http://127.0.0.1:16686',
  OTEL_EXPORTER_OTLP_ENDPOINT: process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://127.0.0.1:4318',
  TRIBUTARY_VENV:
    process.env.TRIBUTARY_VENV ??
    `${process.env.TRIBUTARY_CACHE ?? `${process.env.HOME ?? '.'}/.cache/tributary`}/venv`,
});

/** The environment a service process needs to reach the local stack, plus overrides. */
export function serviceEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: stackEnv.KAFKA_BROKERS,
    SCHEMA_REGISTRY_URL: stackEnv.SCHEMA_REGISTRY_URL,
    DATABASE_URL: stackEnv.DATABASE_URL,
    REDIS_URL: stackEnv.REDIS_URL,
    // Services with an admin API require a token; tests that call it set their own.
    ADMIN_TOKEN: 'test-admin-token-0123456789',
    // A stopping consumer waits for its fetch: a short one keeps each test's shutdown short.
    KAFKA_FETCH_MAX_WAIT_MS: '250',
    ...overrides,
  };
}
