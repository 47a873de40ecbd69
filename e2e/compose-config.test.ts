/**
 * docker-compose.yml against the services' own settings: each of the six, with the environment
 * compose gives it (anchors merged, `${VAR:-default}` resolved as compose would with nothing set),
 * must pass its config validation, and no address may point at the container's own loopback.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SERVICE_CONFIGS } from './support/service-configs.ts';

interface Compose {
  services: Record<string, { environment?: Record<string, string | number | boolean> }>;
}

const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'), {
  merge: true,
}) as Compose;

/**
 * Compose's interpolation from `shell` (empty by default): `${VAR:-default}` gives the default when
 * VAR is unset or empty, `${VAR-default}` when it is unset.
 */
function interpolate(value: string, shell: Record<string, string>): string {
  return value.replace(
    /\$\{([A-Za-z0-9_]+)(:?)(?:-([^}]*))?\}/g,
    (_m, name: string, colon: string, def?: string) => {
      const set = shell[name];
      return set !== undefined && (colon === '' || set !== '') ? set : (def ?? '');
    },
  );
}

function environment(service: string, shell: Record<string, string> = {}): Record<string, string> {
  const env = compose.services[service]?.environment ?? {};
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(String(v), shell)]));
}

describe('docker-compose.yml', () => {
  it.each(Object.keys(SERVICE_CONFIGS))(
    'when %s starts with the environment compose gives it, then its settings validate',
    (service) => {
      const env = environment(service);
      expect(env.SERVICE_NAME).toBe(service);
      const config = SERVICE_CONFIGS[service]!.loadServiceConfig(env);
      // Inside a container, 127.0.0.1 is the container itself: every other component is a compose service.
      const loopback = Object.entries(config).filter(
        ([key, value]) =>
          /(_URL|_URI|_URLS|_BROKERS|_ENDPOINT)$/.test(key) &&
          /127\.0\.0\.1|localhost/.test(JSON.stringify(value)),
      );
      expect(loopback, 'settings that point at the loopback').toEqual([]);
      // The bundled servers are plain: no secured setting is on unless asked for.
      expect(config).toMatchObject({ KAFKA_SSL: false });
      expect(config.KAFKA_SASL_MECHANISM).toBeUndefined();
      expect(config.DATABASE_SSL_CA_FILE).toBeUndefined();
    },
  );

  it.each(Object.keys(SERVICE_CONFIGS))(
    'when the secured settings are given to compose, then %s gets Kafka TLS + SASL, Postgres TLS and a Redis password',
    (service) => {
      const shell = {
        TRIBUTARY_KAFKA_SSL_CA_FILE: '/etc/tributary/tls/ca.pem',
        TRIBUTARY_KAFKA_SASL_MECHANISM: 'scram-sha-512',
        TRIBUTARY_KAFKA_SASL_USERNAME: 'tributary',
        TRIBUTARY_KAFKA_SASL_PASSWORD: 'kafka-secret',
        TRIBUTARY_DATABASE_URL:
          'postgres://tributary:pg-secret@db.internal:5432/tributary?sslmode=verify-full',
        TRIBUTARY_DATABASE_SSL_CA_FILE: '/etc/tributary/tls/ca.pem',
        TRIBUTARY_REDIS_URL: 'rediss://:redis-secret@redis.internal:6380',
        TRIBUTARY_REDIS_TLS_CA_FILE: '/etc/tributary/tls/ca.pem',
      };
      const config = SERVICE_CONFIGS[service]!.loadServiceConfig(environment(service, shell));
      expect(config).toMatchObject({
        KAFKA_SSL_CA_FILE: '/etc/tributary/tls/ca.pem',
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'tributary',
        KAFKA_SASL_PASSWORD: 'kafka-secret',
        DATABASE_URL: shell.TRIBUTARY_DATABASE_URL,
        DATABASE_SSL_CA_FILE: '/etc/tributary/tls/ca.pem',
      });
      // Redis is read by the services that lock or cache with it.
      if ('REDIS_URL' in config) {
        expect(config).toMatchObject({
          REDIS_URL: shell.TRIBUTARY_REDIS_URL,
          REDIS_TLS_CA_FILE: '/etc/tributary/tls/ca.pem',
        });
      }
    },
  );
});
