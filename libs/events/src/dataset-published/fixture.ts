import type { DatasetPublished } from '../generated/types.ts';

export const datasetPublishedFixture: DatasetPublished = {
  event_id: '2a3b4c5d-6e7f-4081-92a3-b4c5d6e7f809',
  occurred_at: 1_763_949_700_000,
  run_id: '0af7651916cd43dd8448eb211c80319c',
  dataset: 'penguins',
  dataset_version: 'penguins-eval-20261124T020000Z',
  source_hash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  master_version: 7,
  location: 's3://tributary/datasets/penguins/penguins-eval-20261124T020000Z/',
  checksum: '7215ee9c7d9dc229d2921a40e899ec5f',
  manifest_uri: 's3://tributary/datasets/penguins/dataset_manifest.yaml',
  quality_report_uri: 's3://tributary/eval/penguins/penguins-eval-20261124T020000Z/quality_report.json',
  generated_at: 1_763_949_650_000,
};
