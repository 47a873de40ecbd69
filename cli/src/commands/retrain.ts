import type { Command } from 'commander';
import { adminRequest } from '../http.ts';

interface Connection {
  url: string;
  token?: string;
}

const THRESHOLD_PATH = '/admin/settings/retrain-threshold';

/** Adds --url and --token, defaulting to TRIBUTARY_RETRAIN_POLICY_URL and TRIBUTARY_ADMIN_TOKEN. */
function connection(cmd: Command): Command {
  return cmd
    .option(
      '--url <url>',
      'retrain-policy admin API (env TRIBUTARY_RETRAIN_POLICY_URL)',
      process.env.TRIBUTARY_RETRAIN_POLICY_URL ?? 'http://127.0.0.1:3006',
    )
    .option('--token <token>', 'admin token (default: env TRIBUTARY_ADMIN_TOKEN)');
}

/** The token is not a commander default, so that --help never prints it. */
function tokenOf(opts: Connection): string | undefined {
  return opts.token ?? process.env.TRIBUTARY_ADMIN_TOKEN;
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function wholeNumber(what: string) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n))
      throw new Error(`${what} must be a whole number >= 0`);
    return n;
  };
}

/** `tributary retrain ...`: RETRAIN_THRESHOLD_ROWS and the retrain decisions, changed without a restart. */
export function registerRetrain(program: Command): void {
  const retrain = program
    .command('retrain')
    .description('Retrain policy: RETRAIN_THRESHOLD_ROWS and decisions');
  const threshold = retrain
    .command('threshold')
    .description('Read or change RETRAIN_THRESHOLD_ROWS (audited)');

  connection(threshold.command('get').description('Print the current threshold')).action(
    async (opts: Connection) => {
      print(await adminRequest(opts.url, THRESHOLD_PATH, { token: tokenOf(opts) }));
    },
  );

  connection(
    threshold
      .command('set')
      .description('Change the threshold; the next decision uses it')
      .argument('<rows>', 'new threshold in rows', wholeNumber('rows'))
      .option('--actor <name>', 'who makes the change, for the audit (default: $USER)'),
  ).action(async (rows: number, opts: Connection & { actor?: string }) => {
    const actor = opts.actor ?? process.env.USER ?? process.env.LOGNAME;
    print(
      await adminRequest(opts.url, THRESHOLD_PATH, {
        method: 'PUT',
        token: tokenOf(opts),
        body: { value: rows, ...(actor ? { actor } : {}) },
      }),
    );
  });

  connection(
    threshold
      .command('history')
      .description('Print the audit of threshold changes, newest first')
      .option('--limit <n>', 'how many changes', wholeNumber('--limit'), 20),
  ).action(async (opts: Connection & { limit: number }) => {
    print(
      await adminRequest(opts.url, `${THRESHOLD_PATH}/audit?limit=${opts.limit}`, { token: tokenOf(opts) }),
    );
  });

  connection(
    retrain
      .command('decisions')
      .description('Print stored decisions (inputs, outcome, reason), newest first')
      .option('--dataset <name>', 'only this dataset')
      .option('--master-version <n>', 'only this master version', wholeNumber('--master-version'))
      .option('--limit <n>', 'how many decisions', wholeNumber('--limit'), 20),
  ).action(async (opts: Connection & { dataset?: string; masterVersion?: number; limit: number }) => {
    const query = new URLSearchParams({ limit: String(opts.limit) });
    if (opts.dataset) query.set('dataset', opts.dataset);
    if (opts.masterVersion !== undefined) query.set('master_version', String(opts.masterVersion));
    print(await adminRequest(opts.url, `/admin/decisions?${query.toString()}`, { token: tokenOf(opts) }));
  });
}
