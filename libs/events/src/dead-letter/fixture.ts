import type { DeadLetter } from '../generated/types.ts';

export const deadLetterFixture: DeadLetter = {
  event_id: '8e7d6c5b-4a39-4281-a0f9-e8d7c6b5a493',
  occurred_at: 1_763_942_405_000,
  run_id: '4bf92f3577b34da6a3ce929d0e0e4736',
  service: 'preprocessor',
  consumer_group: 'tributary.preprocessor',
  source_topic: 'batch.ingested',
  source_partition: 1,
  source_offset: 42,
  key: Buffer.from('penguins'),
  value: Buffer.from([0, 0, 0, 0, 9, 1, 2, 3]),
  headers: [
    { key: 'traceparent', value: Buffer.from('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01') },
  ],
  error_code: 'EVT_ERR_UNKNOWN_SCHEMA',
  error_message: 'Schema 9 not found',
  retriable: false,
  attempts: 1,
  first_failed_at: 1_763_942_404_900,
};
