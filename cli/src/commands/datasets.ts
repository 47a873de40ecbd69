import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import {
  datasetDeclarationSchema,
  declarationJsonSchema,
  describeIssues,
  readContractFiles,
  readDeclarationFiles,
  type CatalogChange,
  type PlannedChange,
  type SourcedResource,
  type StoredDataset,
} from '@tributary/catalog';
import { adminToken, printJson, withAdminConnection, type AdminConnection } from '../admin-connection.ts';
import { adminRequest, AdminRequestError } from '../http.ts';

/** The catalog's admin API is served by the ingestor. */
const connection = (cmd: Command): Command =>
  withAdminConnection(cmd, {
    name: 'ingestor (catalog)',
    urlEnv: 'TRIBUTARY_INGESTOR_URL',
    defaultUrl: 'http://127.0.0.1:3001',
  });

interface ApplyOptions extends AdminConnection {
  contracts?: string;
  prune?: boolean;
  force?: boolean;
  actor?: string;
  json?: boolean;
}

interface ApplyAnswer {
  dry_run: boolean;
  revision: number;
  changes: PlannedChange[];
}

/** `tributary datasets …`: declare datasets the GitOps way, read them back, and their audit. */
export function registerDatasets(program: Command): void {
  const datasets = program
    .command('datasets')
    .description('Declared datasets: contracts, retrain policies, refresh jobs, notification routes');

  const applyLike = (name: string, description: string) =>
    connection(
      datasets
        .command(name)
        .description(description)
        .argument(
          '<dir>',
          'folder of dataset declarations (<name>.yaml; ${VAR} and ${VAR:-default} are read from the environment)',
        )
        .option(
          '--contracts <dir>',
          'folder of data contracts (<name>/<version>.yaml); default: <dir>/../contracts when it exists',
        )
        .option('--prune', 'also delete declared datasets that have no file in <dir>')
        .option('--force', 'with --prune: delete even datasets that hold data (their data is kept)')
        .option('--actor <name>', 'who makes the change, for the audit (default: $USER)')
        .option('--json', 'print the answer as JSON'),
    );

  applyLike(
    'apply',
    'Apply a folder of declarations: prints what changes, then applies it all or nothing',
  ).action(async (dir: string, opts: ApplyOptions) => {
    const answer = await apply(dir, opts, false);
    if (opts.json) printJson(answer);
    else printChanges(answer);
  });

  applyLike(
    'diff',
    'Show what applying a folder would change, without applying (exit 1 when it would)',
  ).action(async (dir: string, opts: ApplyOptions) => {
    const answer = await apply(dir, opts, true);
    if (opts.json) printJson(answer);
    else printChanges(answer);
    if (answer.changes.some((c) => c.action !== 'unchanged')) process.exitCode = 1;
  });

  connection(
    datasets.command('list').description('List the declared datasets').option('--json', 'as JSON'),
  ).action(async (opts: AdminConnection & { json?: boolean }) => {
    const { datasets: list } = await adminRequest<{ datasets: StoredDataset[] }>(
      opts.url,
      '/admin/catalog/datasets',
      {
        token: adminToken(opts),
      },
    );
    if (opts.json) return printJson(list);
    const rows = list.map((d) => [
      d.name,
      `${d.spec.contract.name}@${d.spec.contract.current}`,
      String(d.spec.retrain_policies.length),
      String(d.spec.refresh_jobs.length),
      String(d.generation),
      `${d.updatedAt} ${d.updatedBy}`,
    ]);
    printTable(['NAME', 'CONTRACT', 'POLICIES', 'REFRESH JOBS', 'GENERATION', 'UPDATED'], rows);
  });

  connection(
    datasets
      .command('get')
      .description('Print one declaration as applied (defaults filled in)')
      .argument('<name>', 'dataset name')
      .option('-o, --output <format>', 'yaml or json', 'yaml')
      .option('--json', 'same as -o json'),
  ).action(async (name: string, opts: AdminConnection & { output: string; json?: boolean }) => {
    const found = await adminRequest<StoredDataset>(
      opts.url,
      `/admin/catalog/datasets/${encodeURIComponent(name)}`,
      {
        token: adminToken(opts),
      },
    );
    if (opts.output === 'json' || opts.json) printJson(found.spec);
    else process.stdout.write(stringify(found.spec));
  });

  connection(
    datasets
      .command('delete')
      .description('Remove a declaration (one whose dataset holds data needs --force; its data is kept)')
      .argument('<name>', 'dataset name')
      .option('--force', 'remove even when the dataset holds data')
      .option('--actor <name>', 'who makes the change, for the audit (default: $USER)'),
  ).action(async (name: string, opts: AdminConnection & { force?: boolean; actor?: string }) => {
    const query = new URLSearchParams({ force: String(opts.force === true) });
    const actor = actorOf(opts);
    if (actor) query.set('actor', actor);
    const answer = await catalogCall<ApplyAnswer>(
      opts,
      `/admin/catalog/datasets/${encodeURIComponent(name)}?${query.toString()}`,
      'DELETE',
    );
    printChanges(answer);
  });

  connection(
    datasets
      .command('history')
      .description('Print the audit of catalog changes (who, when, the diff), newest first')
      .argument('[name]', 'only this dataset or contract')
      .option('--limit <n>', 'how many changes', '20')
      .option('--json', 'as JSON'),
  ).action(async (name: string | undefined, opts: AdminConnection & { limit: string; json?: boolean }) => {
    const query = new URLSearchParams({ limit: opts.limit });
    if (name) query.set('name', name);
    const { changes } = await adminRequest<{ changes: CatalogChange[] }>(
      opts.url,
      `/admin/catalog/history?${query.toString()}`,
      { token: adminToken(opts) },
    );
    if (opts.json) return printJson(changes);
    for (const c of changes) {
      process.stdout.write(`#${c.revision} ${c.changedAt} ${c.actor} ${c.action} ${c.kind}/${c.name}\n`);
      if (c.action === 'updated') printDiff(c.diff);
    }
  });

  datasets
    .command('schema')
    .description('Print the JSON Schema of a declaration (for editors)')
    .action(() => printJson(declarationJsonSchema()));
}

/** Reads and checks the files locally (naming file and field), then sends them in one apply. */
async function apply(dir: string, opts: ApplyOptions, dryRun: boolean): Promise<ApplyAnswer> {
  const folder = resolve(dir);
  const contractsDir = opts.contracts ? resolve(opts.contracts) : join(dirname(folder), 'contracts');
  const declarations = await readDeclarationFiles(folder, process.env);
  const problems = declarations.flatMap((r) => localProblems(r));
  if (problems.length > 0) throw new Error(`declarations refused:\n  ${problems.join('\n  ')}`);
  if (opts.contracts && !existsSync(contractsDir))
    throw new Error(`contracts folder ${contractsDir} does not exist`);
  const contracts = existsSync(contractsDir) ? await readContractFiles(contractsDir) : [];
  const actor = actorOf(opts);
  return catalogCall<ApplyAnswer>(opts, '/admin/catalog/apply', 'POST', {
    datasets: declarations,
    contracts,
    prune: opts.prune === true,
    force: opts.force === true,
    dry_run: dryRun,
    ...(actor ? { actor } : {}),
  });
}

function localProblems(r: SourcedResource): string[] {
  const parsed = datasetDeclarationSchema.safeParse(r.spec);
  return parsed.success ? [] : describeIssues(parsed.error).map((p) => `${r.source ?? '(input)'}: ${p}`);
}

/** An admin call whose refusal prints each problem on its own line. */
async function catalogCall<T>(
  opts: AdminConnection,
  path: string,
  method: string,
  body?: unknown,
): Promise<T> {
  try {
    return await adminRequest<T>(opts.url, path, { method, token: adminToken(opts), body });
  } catch (err) {
    const problems = err instanceof AdminRequestError ? problemsOf(err.body) : undefined;
    if (problems) throw new Error(`catalog change refused:\n  ${problems.join('\n  ')}`);
    throw err;
  }
}

/** The problems of a catalog refusal: `details.problems` of the error body, else its message. */
function problemsOf(body: unknown): string[] | undefined {
  const error = (body as { error?: { details?: { problems?: unknown }; message?: unknown } } | undefined)
    ?.error;
  if (Array.isArray(error?.details?.problems)) return error.details.problems.map(String);
  return typeof error?.message === 'string' ? [error.message] : undefined;
}

function actorOf(opts: { actor?: string }): string | undefined {
  return opts.actor ?? process.env.USER ?? process.env.LOGNAME;
}

function printChanges(answer: ApplyAnswer): void {
  const suffix = answer.dry_run ? ' (dry run)' : '';
  for (const c of answer.changes) {
    process.stdout.write(`${c.kind}/${c.name} ${c.action}${suffix}\n`);
    if (c.action === 'updated') printDiff(c.diff);
  }
  const changed = answer.changes.filter((c) => c.action !== 'unchanged').length;
  process.stdout.write(
    changed === 0
      ? 'no change\n'
      : `${changed} change(s)${answer.dry_run ? ' would be applied' : `, catalog revision ${answer.revision}`}\n`,
  );
}

function printDiff(diff: { path: string; from?: unknown; to?: unknown }[]): void {
  for (const d of diff) {
    const show = (v: unknown) => (v === undefined ? '∅' : JSON.stringify(v));
    process.stdout.write(`    ${d.path || '(whole)'}: ${show(d.from)} -> ${show(d.to)}\n`);
  }
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) {
    process.stdout.write(
      `${row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()}\n`,
    );
  }
}
