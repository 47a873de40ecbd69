import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';

/**
 * A name no other test or run uses: for topic prefixes, consumer groups, schemas, buckets. Within a
 * test run it is also recorded, so that the run removes what it created and nothing of another run.
 */
export function uniqueName(prefix: string): string {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`.toLowerCase();
  const names = process.env.TRIBUTARY_TEST_NAMES;
  if (names) appendFileSync(names, `${name}\n`);
  return name;
}

/** Env overrides that give a service its own topics (prefix), database schema and a free port. */
export function isolatedServiceEnv(
  service: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  const id = uniqueName(`t_${service.replaceAll('-', '_')}`);
  return {
    TOPIC_PREFIX: `${id}.`,
    DATABASE_SCHEMA: id,
    CATALOG_SCHEMA: `${id}_catalog`,
    HTTP_PORT: '0',
    ...extra,
  };
}
