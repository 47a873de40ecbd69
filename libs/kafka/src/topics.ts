import type { Admin } from 'kafkajs';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries?: { name: string; value: string }[];
}

/**
 * Creates the topics that do not exist yet; existing ones are left as they are (changing the
 * partition count of a live topic would break per-key ordering, so that stays an operator's act).
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return [];
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  } catch (err) {
    // Another replica may have created them between listTopics and createTopics.
    if (!/already exists/i.test(err instanceof Error ? err.message : String(err))) throw err;
  }
  return missing.map((s) => s.topic);
}
