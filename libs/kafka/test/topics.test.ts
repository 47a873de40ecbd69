import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tributary/telemetry';
import { stackEnv, uniqueName } from '@tributary/testing';
import { createKafka, ensureTopics, type TopicSpec } from '../src/index.ts';

const logger = createLogger({ serviceName: 'topics-test', level: 'silent' });
const kafka = createKafka({ clientId: 'topics-test', brokers: stackEnv.KAFKA_BROKERS.split(','), logger });

describe('ensureTopics', () => {
  const admins = Array.from({ length: 6 }, () => kafka.admin());
  afterAll(() => Promise.all(admins.map((a) => a.disconnect())));

  it('when six replicas ensure overlapping topics at once, then each returns only once all of its topics have leaders', async () => {
    const prefix = `${uniqueName('topics')}.`;
    const spec = (name: string, numPartitions = 3): TopicSpec => ({
      topic: `${prefix}${name}`,
      numPartitions,
      replicationFactor: 1,
    });
    const shared = [spec('batch.ready'), spec('master.versioned')];
    await Promise.all(admins.map((a) => a.connect()));

    // Each "service" shares two topics with the others and owns a dead-letter topic, as at fleet start.
    const outcomes = await Promise.all(
      admins.map(async (admin, i) => {
        const own = [...shared, spec(`dlq.svc${i}`, 1)];
        await ensureTopics(admin, own);
        // A fresh client asks at once: the metadata must already name a leader for every partition.
        const probe = kafka.admin();
        await probe.connect();
        try {
          const { topics } = await probe.fetchTopicMetadata({ topics: own.map((s) => s.topic) });
          return topics.map((t) => ({
            topic: t.name,
            partitions: t.partitions.length,
            leaders: t.partitions.every((p) => p.leader >= 0),
          }));
        } finally {
          await probe.disconnect();
        }
      }),
    );

    outcomes.forEach((topics, i) => {
      expect(topics).toEqual(
        expect.arrayContaining([
          { topic: `${prefix}batch.ready`, partitions: 3, leaders: true },
          { topic: `${prefix}master.versioned`, partitions: 3, leaders: true },
          { topic: `${prefix}dlq.svc${i}`, partitions: 1, leaders: true },
        ]),
      );
    });
  });

  it('when every topic exists already, then nothing is created and nothing is reported', async () => {
    const topic = uniqueName('topics-existing');
    const [admin] = admins;
    await admin!.connect();
    expect(await ensureTopics(admin!, [{ topic, numPartitions: 1, replicationFactor: 1 }])).toEqual([topic]);
    expect(await ensureTopics(admin!, [{ topic, numPartitions: 1, replicationFactor: 1 }])).toEqual([]);
  });
});
