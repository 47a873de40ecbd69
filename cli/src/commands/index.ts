import type { Command } from 'commander';

/**
 * The command areas. Each module is imported only when its command runs, so `tributary --help` and
 * a one-request command do not load Kafka, S3 or the catalog: the name and description are here to
 * list the areas without importing them (a test checks they match what each module registers).
 */
export interface CommandArea {
  name: string;
  description: string;
  load: () => Promise<(program: Command) => void>;
}

export const commandAreas: CommandArea[] = [
  {
    name: 'retrain',
    description: 'Retrain policy: RETRAIN_THRESHOLD_ROWS and decisions',
    load: async () => (await import('./retrain.ts')).registerRetrain,
  },
  {
    name: 'submit',
    description: 'Submit a folder of tables and images as one batch through the ingestor’s HTTP endpoint',
    load: async () => (await import('./submit.ts')).registerSubmit,
  },
  {
    name: 'refresh',
    description: 'Dataset refresh jobs: list them, run one now, list or cancel their runs, audit a baseline',
    load: async () => (await import('./refresh.ts')).registerRefresh,
  },
  {
    name: 'lineage',
    description:
      'Print the chain batch → raw snapshot → master version → quality report → published → retrain',
    load: async () => (await import('./lineage.ts')).registerLineage,
  },
  {
    name: 'dlq',
    description: 'Inspect and replay the dead letters of a service (dlq.<service>)',
    load: async () => (await import('./dlq.ts')).registerDlq,
  },
  {
    name: 'datasets',
    description: 'Declared datasets: contracts, retrain policies, refresh jobs, notification routes',
    load: async () => (await import('./datasets.ts')).registerDatasets,
  },
];
