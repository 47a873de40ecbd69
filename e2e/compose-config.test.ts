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

/** Compose's interpolation with an empty environment: `${VAR:-default}` and `${VAR-default}` give the default. */
function interpolate(value: string): string {
  return value.replace(
    /\$\{([A-Za-z0-9_]+)(?::?-([^}]*))?\}/g,
    (_m, _name: string, def?: string) => def ?? '',
  );
}

function environment(service: string): Record<string, string> {
  const env = compose.services[service]?.environment ?? {};
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(String(v))]));
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
    },
  );
});
