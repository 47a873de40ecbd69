import { createPool } from '@tributary/db';
import { testKafka } from './kafka.ts';
import { stackEnv } from './stack-env.ts';

/** A name `uniqueName` made (`<name>_<base36 time>_<6 hex>`), alone or followed by `.…` or `_…`. */
const UNIQUE = /^([a-z0-9_]*?_([0-9a-z]{8,9})_[0-9a-f]{6})(?=[._]|$)/;

/** The unique name a topic or schema starts with, and when it was named. */
function uniquePart(name: string): { base: string; at: number } | undefined {
  const match = UNIQUE.exec(name);
  return match ? { base: match[1]!, at: parseInt(match[2]!, 36) } : undefined;
}

async function listSchemas(): Promise<string[]> {
  const pool = createPool({ url: stackEnv.DATABASE_URL, schema: 'public', max: 1 });
  try {
    const { rows } = await pool.query<{ name: string }>(
      'SELECT schema_name AS name FROM information_schema.schemata',
    );
    return rows.map((r) => r.name);
  } finally {
    await pool.end();
  }
}

/**
 * Deletes the topics and schemas named after `names` (a run's `uniqueName`s: `<name>`, `<name>.…`,
 * `<name>_…`) and, with `olderThanMs`, any uniquely named one named that long ago (runs that were cut
 * off). Without it, every run leaves thousands of partitions behind and the broker takes minutes to
 * load them at its next start. Runs going on beside this one are left alone.
 */
export async function removeTestLeftovers(opts: {
  names?: readonly string[];
  olderThanMs?: number;
}): Promise<{ topics: number; schemas: number }> {
  const now = Date.now();
  const prefixes = new Set(opts.names ?? []);
  const isLeftover = (name: string) => {
    const unique = uniquePart(name);
    if (unique === undefined) return false;
    if (opts.olderThanMs !== undefined && now - unique.at > opts.olderThanMs) return true;
    return prefixes.has(unique.base);
  };

  const admin = testKafka().admin();
  await admin.connect();
  let topics: string[] = [];
  try {
    topics = (await admin.listTopics()).filter(isLeftover);
    // In slices: one request naming thousands of topics can outlive the request timeout.
    for (let i = 0; i < topics.length; i += 200) {
      await admin.deleteTopics({ topics: topics.slice(i, i + 200), timeout: 60_000 });
    }
  } finally {
    await admin.disconnect();
  }

  const schemas = (await listSchemas()).filter(isLeftover);
  const pool = createPool({ url: stackEnv.DATABASE_URL, schema: 'public', max: 1 });
  try {
    for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await pool.end();
  }
  return { topics: topics.length, schemas: schemas.length };
}
