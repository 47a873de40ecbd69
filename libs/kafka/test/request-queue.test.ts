import { afterAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '@tributary/telemetry';
import { stackEnv } from '@tributary/testing';
import { createKafka } from '../src/index.ts';

const kafka = createKafka({
  clientId: 'request-queue-test',
  brokers: stackEnv.KAFKA_BROKERS.split(','),
  logger: createLogger({ serviceName: 'request-queue-test', level: 'silent' }),
});
const admin = kafka.admin();
afterAll(() => admin.disconnect());

describe('kafkajs request queue', () => {
  it('when a connection is idle after its requests were answered, then it arms no timer of its own', async () => {
    await admin.connect();
    await admin.listTopics();
    const timers = vi.spyOn(globalThis, 'setTimeout');
    try {
      // Requests answered one after the other: unpatched, each answer starts a 1 ms timer that
      // re-arms itself for as long as the connection lives.
      for (let i = 0; i < 5; i++) await admin.listTopics();
      const rearmed = timers.mock.calls.filter(([, delay]) => typeof delay === 'number' && delay < 0);
      expect(rearmed, 'timers with a negative delay').toEqual([]);
    } finally {
      timers.mockRestore();
    }
  });
});
