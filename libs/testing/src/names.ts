import { randomBytes } from 'node:crypto';

/** A name no other test or run uses: for topic prefixes, consumer groups, schemas, buckets. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`.toLowerCase();
}

/** Env overrides that give a service its own topics (prefix), database schema and a free port. */
export function isolatedServiceEnv(
  service: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  const id = uniqueName(`t_${service.replaceAll('-', '_')}`);
  return { TOPIC_PREFIX: `${id}.`, DATABASE_SCHEMA: id, HTTP_PORT: '0', ...extra };
}
