import { prefixEvent, type EventDefinition } from '@tributary/events';
import { OutboxRelay } from '@tributary/outbox';
import type { Runtime } from './runtime.ts';
import type { Worker } from './service-app.ts';

/**
 * The service's outbox relay as a worker: it publishes the outbox rows of `events` that the use
 * cases wrote in the service's schema, through the runtime's Kafka producer and registry. Starting
 * it registers the events' schemas first, so an incompatible one fails the service's start naming
 * its subject rather than leaving the relay retrying its first row of that type forever.
 */
export function outboxRelayWorker(
  runtime: Runtime,
  events: readonly EventDefinition<unknown>[],
  opts: { pollMs?: number } = {},
): Worker {
  const relay = new OutboxRelay({
    pool: runtime.pool,
    schema: runtime.schema,
    kafka: runtime.kafka,
    producer: runtime.producer,
    registry: runtime.registry,
    events,
    topicPrefix: runtime.topicPrefix,
    logger: runtime.logger,
    metricsRegistry: runtime.metrics.registry,
    ...(opts.pollMs === undefined ? {} : { pollMs: opts.pollMs }),
  });
  return {
    name: 'outbox-relay',
    start: async () => {
      await runtime.registry.registerAll(events.map((def) => prefixEvent(def, runtime.topicPrefix)));
      relay.start();
    },
    stop: () => relay.stop(),
    // Settled: the leader found the outbox empty; a standby has nothing to do while another leads.
    on: (name, listener) =>
      relay.on(name, ({ startedAt, leader, published }) =>
        listener({ startedAt, settled: !leader || published === 0 }),
      ),
  };
}
