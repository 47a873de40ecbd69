import type { BatchIngested } from '../generated/types.ts';

export const batchIngestedFixture: BatchIngested = {
  event_id: '0b7f3a52-2d5e-4d7c-8d4a-1a2b3c4d5e6f',
  occurred_at: 1_763_942_401_000,
  ready_at: 1_763_942_400_000,
  run_id: '4bf92f3577b34da6a3ce929d0e0e4736',
  dataset: 'penguins',
  batch_id: 'penguins-2026-11-23-001',
  producer: 'field-team',
  contract: { name: 'penguins', version: '1.0.0' },
  content_hash: 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00',
  raw_location: 'file:///var/lib/tributary/raw/penguins/penguins-2026-11-23-001',
  raw_md5: '0d2f4c0f3a3f0b9e6d3a1c1e2b4c5d6e.dir',
  raw_dvc_file: 'file:///var/lib/tributary/raw/penguins/penguins-2026-11-23-001.dvc',
  files: [
    {
      path: 'rows.csv',
      role: 'TABLE',
      sha256: 'a3f1c2e4b5d6a7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70',
      md5: '9e107d9d372bb6826bd81d3542a419d6',
      size_bytes: 1024,
      schema_version: '1.0.0',
    },
  ],
};
