import type { Admin } from 'kafkajs';
import pRetry from 'p-retry';
import { AppError } from '@tributary/errors';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries?: { name: string; value: string }[];
}

/** How long a created topic may take to show in the broker's metadata with a leader per partition. */
const METADATA_WAIT_MS = 60_000;

/**
 * Creates the topics that do not exist yet; existing ones are left as they are (changing the
 * partition count of a live topic would break per-key ordering, so that stays an operator's act).
 * Returns only once every missing topic has a leader for each partition in the broker's metadata,
 * so a consumer may subscribe and a producer send right away.
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return [];
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
  // kafkajs waits for leaders only when it created every topic itself: when a racing replica created
  // some, or the broker's metadata lagged (UNKNOWN_TOPIC_OR_PARTITION), it returns before they show.
  await awaitLeaders(
    admin,
    missing.map((s) => s.topic),
  );
  return missing.map((s) => s.topic);
}

async function awaitLeaders(admin: Admin, topics: string[]): Promise<void> {
  const deadline = Date.now() + METADATA_WAIT_MS;
  await pRetry(
    async () => {
      const { topics: found } = await admin.fetchTopicMetadata({ topics });
      const leaderless = found.filter(
        (t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0),
      );
      if (leaderless.length > 0) {
        throw new AppError(
          'KAFKA_ERR_NO_LEADER',
          `topics without a leader yet: ${leaderless.map((t) => t.name).join(', ')}`,
        );
      }
    },
    {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: 100,
      maxTimeout: 1_000,
      shouldRetry: () => Date.now() < deadline,
    },
  );
}
