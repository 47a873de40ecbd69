import type { RetrainRequested } from '../generated/types.ts';

export const retrainRequestedFixture: RetrainRequested = {
  event_id: '7c6b5a49-3827-4160-9f8e-7d6c5b4a3928',
  occurred_at: 1_763_942_404_000,
  run_id: '4bf92f3577b34da6a3ce929d0e0e4736',
  dataset: 'penguins',
  decision_id: '51',
  model_name: 'penguin-classifier',
  model_registry_version: '3',
  feature_version: 'f-2',
  split_version: 's-1',
  model_version: 'm-5',
  master_version: 7,
  master_location: 'file:///var/lib/tributary/master/penguins/v7',
  master_checksum: '5d41402abc4b2a76b9719d911017c592.dir',
  current_master_rows: 344,
  last_run_master_rows: 200,
  new_rows: 144,
  threshold_rows: 100,
  last_compatible_run_id: 'b7e2c1d0a9f84e3d',
  reason: 'new_rows 144 >= threshold 100',
};
