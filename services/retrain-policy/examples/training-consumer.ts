/**
 * A minimal training-pipeline consumer of `retrain.requested` (the example of
 * docs/retrain-requested.md). Run it with
 *   KAFKA_BROKERS=127.0.0.1:9092 SCHEMA_REGISTRY_URL=http://127.0.0.1:8081/apis/ccompat/v7 \
 *     node services/retrain-policy/examples/training-consumer.ts
 */
import { pathToFileURL } from 'node:url';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Kafka } from 'kafkajs';
// The type generated from the topic's Avro schema. Outside this repository, generate it from the
// schema the registry serves under the subject `retrain.requested-value`.
import type { RetrainRequested } from '@tributary/events';

export interface TrainingConsumerOptions {
  brokers: string[];
  /** Confluent-compatible schema registry URL. */
  registryUrl: string;
  groupId?: string;
  /** `retrain.requested`, with the deployment's topic prefix if it has one. */
  topic?: string;
  /** A new consumer group starts at the end of the topic unless this is true. */
  fromBeginning?: boolean;
  /** Starts (or looks up) the training run for one request; resolve once it is safely recorded. */
  train: (request: RetrainRequested) => Promise<void>;
}

/** Consumes retrain requests until the returned function is called. */
export async function startTrainingConsumer(opts: TrainingConsumerOptions): Promise<() => Promise<void>> {
  const kafka = new Kafka({ clientId: 'training-pipeline', brokers: opts.brokers });
  const registry = new SchemaRegistry({ host: opts.registryUrl });
  const consumer = kafka.consumer({ groupId: opts.groupId ?? 'training-pipeline' });
  await consumer.connect();
  await consumer.subscribe({
    topic: opts.topic ?? 'retrain.requested',
    fromBeginning: opts.fromBeginning ?? false,
  });
  await consumer.run({
    // The offset is committed after train() resolves, so a crash means the request comes again:
    // key the training run by decision_id and a redelivered request finds it already started.
    eachMessage: async ({ message }) => {
      if (!message.value) return;
      const request = (await registry.decode(message.value)) as RetrainRequested;
      await opts.train(request);
    },
  });
  return () => consumer.disconnect();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const stop = await startTrainingConsumer({
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    registryUrl: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
    train: (r) => {
      process.stdout.write(
        `decision ${r.decision_id}: train ${r.model_name} with features ${r.feature_version}, ` +
          `split ${r.split_version}, model ${r.model_version} on ${r.dataset} v${r.master_version} ` +
          `(${r.master_location}, ${r.master_checksum}), then log master_rows=${r.current_master_rows}\n`,
      );
      return Promise.resolve();
    },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop());
}
