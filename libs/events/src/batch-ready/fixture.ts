import type { BatchReady } from '../generated/types.ts';

export const batchReadyFixture: BatchReady = {
  event_id: '6f1c2f0e-6b1a-4f59-9c1e-3f7f4d2b9a01',
  occurred_at: 1_763_942_400_000,
  run_id: null,
  dataset: 'penguins',
  batch_id: 'penguins-2026-11-23-001',
  producer: 'field-team',
  source: 'KAFKA',
  contract: { name: 'penguins', version: '1.0.0' },
  files: [
    {
      path: 'rows.csv',
      uri: 'file:///var/lib/tributary/landing/penguins-001/rows.csv',
      role: 'TABLE',
      sha256: 'a3f1c2e4b5d6a7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70',
      size_bytes: 1024,
      schema_version: '1.0.0',
    },
  ],
  attributes: { site: 'biscoe' },
};
