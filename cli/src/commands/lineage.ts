import type { Command } from 'commander';
import { formatLineage, type Lineage } from '@tributary/lineage';
import { adminRequest } from '../http.ts';

interface LineageOptions {
  batch?: string;
  dataset?: string;
  masterVersion?: number;
  datasetVersion?: string;
  json?: boolean;
  preprocessorUrl: string;
  token?: string;
}

function wholeNumber(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n))
    throw new Error('--master-version must be a whole number');
  return n;
}

/** `tributary lineage`: the chain batch → raw snapshot → master → quality → published → retrain. */
export function registerLineage(program: Command): void {
  const env = process.env;
  program
    .command('lineage')
    .description(
      'Print the chain batch → raw snapshot → master version → quality report → published → retrain',
    )
    .option('--batch <id>', 'start from a batch id')
    .option('--master-version <n>', 'start from a master version (needs --dataset)', wholeNumber)
    .option('--dataset-version <v>', 'start from a published dataset version')
    .option('--dataset <name>', 'dataset of the batch or master version')
    .option('--json', 'print the chain as JSON')
    .option(
      '--preprocessor-url <url>',
      'the service answering the lineage API (env TRIBUTARY_PREPROCESSOR_URL)',
      env.TRIBUTARY_PREPROCESSOR_URL ?? 'http://127.0.0.1:3002',
    )
    .option('--token <token>', 'admin token (default: env TRIBUTARY_ADMIN_TOKEN)')
    .action(async (opts: LineageOptions) => {
      const starts = [opts.batch, opts.masterVersion, opts.datasetVersion].filter((s) => s !== undefined);
      if (starts.length !== 1) {
        throw new Error('give exactly one of --batch, --master-version or --dataset-version');
      }
      if (opts.masterVersion !== undefined && !opts.dataset)
        throw new Error('--master-version needs --dataset');
      const query = new URLSearchParams();
      if (opts.batch !== undefined) query.set('batch_id', opts.batch);
      if (opts.masterVersion !== undefined) query.set('master_version', String(opts.masterVersion));
      if (opts.datasetVersion !== undefined) query.set('dataset_version', opts.datasetVersion);
      if (opts.dataset !== undefined) query.set('dataset', opts.dataset);
      const lineage = await adminRequest<Lineage>(
        opts.preprocessorUrl,
        `/admin/lineage?${query.toString()}`,
        {
          token: opts.token ?? env.TRIBUTARY_ADMIN_TOKEN,
        },
      );
      process.stdout.write(opts.json ? `${JSON.stringify(lineage, null, 2)}\n` : formatLineage(lineage));
    });
}
