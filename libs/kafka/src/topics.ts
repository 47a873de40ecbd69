import type { Admin } from 'kafkajs';
import pRetry from 'p-retry';

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
  // Metadata of a new topic reaches the broker's cache a moment after creation; kafkajs may ask too early.
  await pRetry(
    async () => {
      try {
        await admin.createTopics({ topics: missing, waitForLeaders: true });
      } catch (err) {
        // Another replica (or our own earlier attempt) may have created them meanwhile.
        if (!/already exists/i.test(err instanceof Error ? err.message : String(err))) throw err;
      }
    },
    {
      retries: 5,
      minTimeout: 200,
      shouldRetry: ({ error }) => (error as { retriable?: boolean }).retriable === true,
    },
  );
  return missing.map((s) => s.topic);
}
