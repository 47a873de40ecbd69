import type { MasterVersioned } from '../generated/types.ts';

export const masterVersionedFixture: MasterVersioned = {
  event_id: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  occurred_at: 1_763_942_403_000,
  run_id: '4bf92f3577b34da6a3ce929d0e0e4736',
  dataset: 'penguins',
  master_version: 7,
  previous_version: 6,
  row_count: 344,
  rows_added: 44,
  rows_updated: 0,
  rows_rejected: 2,
  checksum: '5d41402abc4b2a76b9719d911017c592.dir',
  location: 'file:///var/lib/tributary/master/penguins/v7',
  dvc_file: 'file:///var/lib/tributary/master/penguins/v7.dvc',
  batch_ids: ['penguins-2026-11-23-001'],
  raw_checksums: { 'penguins-2026-11-23-001': '0d2f4c0f3a3f0b9e6d3a1c1e2b4c5d6e.dir' },
  contract: { name: 'penguins', version: '1.0.0' },
  rejection_report_uri: null,
  ready_at: 1_763_942_400_000,
  unreferenced_files: [],
};
