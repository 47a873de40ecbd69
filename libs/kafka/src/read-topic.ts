import { randomBytes } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { AppError } from '@tributary/errors';

export interface TopicRecord {
  partition: number;
  message: KafkaMessage;
}

export interface ReadTopicOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Prefix of the throw-away consumer group (default `tributary-reader`). */
  groupPrefix?: string;
}

/**
 * Reads every record a topic holds right now (from each partition's low to its high watermark),
 * ordered by partition then offset. It uses a throw-away consumer group that never commits an
 * offset and is deleted afterwards, so reading moves no one's offsets. Records produced meanwhile
 * are not waited for.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  opts: ReadTopicOptions = {},
): Promise<TopicRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    /** Partition → the last offset to read (high watermark - 1); empty partitions are left out. */
    const pending = new Map<number, bigint>();
    for (const o of offsets) {
      if (BigInt(o.high) > BigInt(o.low)) pending.set(o.partition, BigInt(o.high) - 1n);
    }
    if (pending.size === 0) return [];

    const groupId = `${opts.groupPrefix ?? 'tributary-reader'}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 200 });
    const records: TopicRecord[] = [];
    let timer: NodeJS.Timeout | undefined;
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timeoutMs = opts.timeoutMs ?? 30_000;
        timer = setTimeout(
          () =>
            reject(
              new AppError(
                'KAFKA_ERR_READ_TIMEOUT',
                `timed out after ${timeoutMs} ms reading ${topic} (${records.length} records read)`,
              ),
            ),
          timeoutMs,
        );
        consumer
          .run({
            autoCommit: false,
            eachMessage: ({ partition, message }) => {
              const last = pending.get(partition);
              if (last !== undefined && BigInt(message.offset) <= last) {
                records.push({ partition, message });
                if (BigInt(message.offset) >= last) pending.delete(partition);
                if (pending.size === 0) resolve();
              }
              return Promise.resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      clearTimeout(timer);
      await consumer.disconnect();
      // The group never committed anything; remove its (empty) entry at once rather than on expiry.
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
    return records.sort((a, b) =>
      a.partition !== b.partition
        ? a.partition - b.partition
        : Number(BigInt(a.message.offset) - BigInt(b.message.offset)),
    );
  } finally {
    await admin.disconnect();
  }
}
