import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { stackEnv } from './stack-env.ts';
import { uniqueName } from './names.ts';

export function testKafka(): Kafka {
  return new Kafka({
    clientId: uniqueName('test'),
    brokers: stackEnv.KAFKA_BROKERS.split(','),
    logLevel: logLevel.NOTHING,
  });
}

export interface CollectedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * Reads a topic from the beginning in the background; `waitForMessages(n)` resolves once n
 * messages arrived. Each collector uses its own consumer group.
 */
export async function collectMessages(kafka: Kafka, topic: string) {
  // A short fetch wait: stop() waits for the fetch in flight (5 s by default).
  const consumer = kafka.consumer({ groupId: uniqueName('collector'), maxWaitTimeInMs: 250 });
  const messages: CollectedMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ partition, message }) => {
      messages.push(toCollected(topic, partition, message));
      return Promise.resolve();
    },
  });
  return {
    messages,
    async waitForMessages(n: number, timeoutMs = 20_000): Promise<CollectedMessage[]> {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < n) {
        if (Date.now() > deadline) {
          throw new Error(`expected ${n} messages on ${topic}, got ${messages.length}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      return messages.slice(0, n);
    },
    /**
     * Resolves once the collector has read every message the topic held when called: then "no
     * duplicate" is a fact about the topic, not a guess that one had no time to arrive.
     */
    async waitForEnd(timeoutMs = 20_000): Promise<CollectedMessage[]> {
      const admin = kafka.admin();
      await admin.connect();
      const ends = await admin.fetchTopicOffsets(topic).finally(() => void admin.disconnect());
      const deadline = Date.now() + timeoutMs;
      const behind = () =>
        ends.filter(
          ({ partition, high }) =>
            BigInt(high) > 0n &&
            !messages.some((m) => m.partition === partition && BigInt(m.offset) >= BigInt(high) - 1n),
        );
      while (behind().length > 0) {
        if (Date.now() > deadline) {
          const parts = behind().map((e) => `${e.partition}@${e.high}`);
          throw new Error(`collector of ${topic} did not reach the end of partitions ${parts.join(', ')}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      return [...messages];
    },
    stop: () => consumer.disconnect(),
  };
}

function toCollected(topic: string, partition: number, message: KafkaMessage): CollectedMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) headers[k] = first.toString();
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? null,
    value: message.value,
    headers,
  };
}
