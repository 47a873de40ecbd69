import type { Command } from 'commander';
import { adminToken, printJson, withAdminConnection, type AdminConnection } from '../admin-connection.ts';
import { adminRequest } from '../http.ts';

const THRESHOLD_PATH = '/admin/settings/retrain-threshold';

const connection = (cmd: Command): Command =>
  withAdminConnection(cmd, {
    name: 'retrain-policy',
    urlEnv: 'TRIBUTARY_RETRAIN_POLICY_URL',
    defaultUrl: 'http://127.0.0.1:3006',
  });

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
    .description(
      'Read or change RETRAIN_THRESHOLD_ROWS of the environment policy (audited); declared datasets set threshold_rows in their declaration',
    );

  connection(threshold.command('get').description('Print the current threshold')).action(
    async (opts: AdminConnection) => {
      printJson(await adminRequest(opts.url, THRESHOLD_PATH, { token: adminToken(opts) }));
    },
  );

  connection(
    threshold
      .command('set')
      .description('Change the threshold; the next decision uses it')
      .argument('<rows>', 'new threshold in rows', wholeNumber('rows'))
      .option('--actor <name>', 'who makes the change, for the audit (default: $USER)'),
  ).action(async (rows: number, opts: AdminConnection & { actor?: string }) => {
    const actor = opts.actor ?? process.env.USER ?? process.env.LOGNAME;
    printJson(
      await adminRequest(opts.url, THRESHOLD_PATH, {
        method: 'PUT',
        token: adminToken(opts),
        body: { value: rows, ...(actor ? { actor } : {}) },
      }),
    );
  });

  connection(
    threshold
      .command('history')
      .description('Print the audit of threshold changes, newest first')
      .option('--limit <n>', 'how many changes', wholeNumber('--limit'), 20),
  ).action(async (opts: AdminConnection & { limit: number }) => {
    printJson(
      await adminRequest(opts.url, `${THRESHOLD_PATH}/audit?limit=${opts.limit}`, {
        token: adminToken(opts),
      }),
    );
  });

  connection(
    retrain
      .command('decisions')
      .description('Print stored decisions (inputs, outcome, reason), newest first')
      .option('--dataset <name>', 'only this dataset')
      .option('--model <name>', 'only this declared model')
      .option('--master-version <n>', 'only this master version', wholeNumber('--master-version'))
      .option('--limit <n>', 'how many decisions', wholeNumber('--limit'), 20),
  ).action(
    async (
      opts: AdminConnection & { dataset?: string; model?: string; masterVersion?: number; limit: number },
    ) => {
      const query = new URLSearchParams({ limit: String(opts.limit) });
      if (opts.dataset) query.set('dataset', opts.dataset);
      if (opts.model) query.set('model_name', opts.model);
      if (opts.masterVersion !== undefined) query.set('master_version', String(opts.masterVersion));
      printJson(
        await adminRequest(opts.url, `/admin/decisions?${query.toString()}`, { token: adminToken(opts) }),
      );
    },
  );
}
