import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, bool, commonEnv, csv, int, loadConfig, redactConfig } from '../src/index.ts';

const schema = z.object({
  KAFKA_BROKERS: csv(),
  HTTP_PORT: int(0, 65535),
  FEATURE: bool().default(false),
  DATABASE_URL: commonEnv.DATABASE_URL,
});

describe('loadConfig', () => {
  it('when every variable is valid, then it returns a typed, frozen config', () => {
    const cfg = loadConfig(schema, {
      KAFKA_BROKERS: 'a:9092, b:9092',
      HTTP_PORT: '3001',
      DATABASE_URL: 'postgres://u:p@h:5432/d',
    });
    expect(cfg).toEqual({
      KAFKA_BROKERS: ['a:9092', 'b:9092'],
      HTTP_PORT: 3001,
      FEATURE: false,
      DATABASE_URL: 'postgres://u:p@h:5432/d',
    });
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.KAFKA_BROKERS)).toBe(true);
  });

  it('when several variables are wrong, then one error names each of them', () => {
    const err = (() => {
      try {
        loadConfig(schema, { HTTP_PORT: 'eighty', FEATURE: 'maybe', DATABASE_URL: 'nope' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^KAFKA_BROKERS:/m);
    expect(problems).toMatch(/^HTTP_PORT:/m);
    expect(problems).toMatch(/^FEATURE: expected true or false/m);
    expect(problems).toMatch(/^DATABASE_URL: expected a URL \(Postgres connection URL\)/m);
  });

  it('when a variable is set but empty, then it counts as unset: its default applies, or it is missing', () => {
    const cfg = loadConfig(schema, {
      KAFKA_BROKERS: 'a:9092',
      HTTP_PORT: '3001',
      FEATURE: '',
      DATABASE_URL: 'postgres://u:p@h:5432/d',
    });
    expect(cfg.FEATURE).toBe(false);
    expect(() =>
      loadConfig(schema, { KAFKA_BROKERS: '', HTTP_PORT: '3001', DATABASE_URL: 'postgres://u:p@h:5432/d' }),
    ).toThrow(/KAFKA_BROKERS: Invalid input: expected string, received undefined/);
  });
});

describe('redactConfig', () => {
  it('when a config holds secrets, then they are masked for logging', () => {
    expect(
      redactConfig({
        DATABASE_URL: 'postgres://tributary:hunter2@db:5432/t',
        KAFKA_SASL_PASSWORD: 'pw',
        ADMIN_TOKEN: 'tok',
        HTTP_PORT: 3000,
      }),
    ).toEqual({
      DATABASE_URL: 'postgres://tributary:***@db:5432/t',
      KAFKA_SASL_PASSWORD: '***',
      ADMIN_TOKEN: '***',
      HTTP_PORT: 3000,
    });
  });

  it('when a URL has a password but no user (redis://:password@host), or a list holds URLs, then the passwords are masked', () => {
    expect(
      redactConfig({
        REDIS_URL: 'rediss://:s3cret@127.0.0.1:16380',
        REDIS_URLS: ['redis://:one@a:6379', 'redis://user:two@b:6379', 'redis://c:6379'],
      }),
    ).toEqual({
      REDIS_URL: 'rediss://:***@127.0.0.1:16380',
      REDIS_URLS: ['redis://:***@a:6379', 'redis://user:***@b:6379', 'redis://c:6379'],
    });
  });
});
