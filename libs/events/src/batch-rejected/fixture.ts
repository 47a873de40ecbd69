import type { BatchRejected } from '../generated/types.ts';

export const batchRejectedFixture: BatchRejected = {
  event_id: '3d8e4a10-5f2b-4c1d-9e8f-7a6b5c4d3e2f',
  occurred_at: 1_763_942_402_000,
  run_id: '4bf92f3577b34da6a3ce929d0e0e4736',
  dataset: 'penguins',
  batch_id: 'penguins-2026-11-23-002',
  producer: 'field-team',
  stage: 'INGEST',
  error_code: 'ING_ERR_CHECKSUM_MISMATCH',
  reason: 'rows.csv: declared sha256 a3f1… but the file hashes to 77aa…',
  report_uri: null,
  rejected_rows: 0,
  partial: false,
};
