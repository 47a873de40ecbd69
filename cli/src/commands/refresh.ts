import type { Command } from 'commander';
import { adminToken, printJson, withAdminConnection, type AdminConnection } from '../admin-connection.ts';
import { adminRequest, describeErrorBody } from '../http.ts';

const connection = (cmd: Command): Command =>
  withAdminConnection(cmd, {
    name: 'quality-gate',
    urlEnv: 'TRIBUTARY_QUALITY_GATE_URL',
    defaultUrl: 'http://127.0.0.1:3003',
  });

/** `tributary refresh ...`: the refresh jobs (sampling + quality gate) on demand, their runs and baselines. */
export function registerRefresh(program: Command): void {
  const refresh = program
    .command('refresh')
    .description('Dataset refresh jobs: list them, run one now, list or cancel their runs, audit a baseline');

  connection(
    refresh
      .command('run')
      .description('Run a refresh job now and print the run (exit 1 when the gate or a source check fails)')
      .option('--job <name>', 'refresh job (evaluation set) to run')
      .option(
        '--dataset <name>',
        'a refresh job, or a declared dataset that has one (with neither: the only job of the deployment)',
      ),
  ).action(async (opts: AdminConnection & { job?: string; dataset?: string }) => {
    const res = await fetch(`${opts.url.replace(/\/$/, '')}/admin/refresh`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(adminToken(opts) ? { authorization: `Bearer ${adminToken(opts)}` } : {}),
      },
      body: JSON.stringify({
        ...(opts.job === undefined ? {} : { job: opts.job }),
        ...(opts.dataset === undefined ? {} : { dataset: opts.dataset }),
      }),
    });
    const text = await res.text();
    // 422 carries a finished, failed run: print it rather than an HTTP error.
    if (!res.ok && res.status !== 422)
      throw new Error(`POST /admin/refresh answered ${res.status}: ${describeErrorBody(text)}`);
    printJson(JSON.parse(text) as unknown);
    if (res.status === 422) process.exitCode = 1;
  });

  connection(
    refresh
      .command('runs')
      .description('Print the latest refresh runs, newest first')
      .option('--job <name>', 'only the runs of this refresh job')
      .option('--limit <n>', 'how many runs', '50'),
  ).action(async (opts: AdminConnection & { job?: string; limit: string }) => {
    const query = new URLSearchParams({ limit: opts.limit });
    if (opts.job !== undefined) query.set('job', opts.job);
    printJson(await adminRequest(opts.url, `/admin/runs?${query.toString()}`, { token: adminToken(opts) }));
  });

  connection(
    refresh
      .command('cancel')
      .description(
        'Cancel a running or parked refresh run: its engine work (a Ray job) is stopped and it publishes nothing',
      )
      .argument('<dataset_version>', 'the run (its dataset_version, as `refresh runs` prints it)')
      .option('--reason <text>', 'why, stored with the run after "cancelled by <actor>"')
      .option('--actor <name>', 'who cancels it, stored in the reason (default: $USER)'),
  ).action(async (version: string, opts: AdminConnection & { reason?: string; actor?: string }) => {
    const actor = opts.actor ?? process.env.USER ?? process.env.LOGNAME;
    const query = actor === undefined ? '' : `?${new URLSearchParams({ actor }).toString()}`;
    printJson(
      await adminRequest(opts.url, `/admin/runs/${encodeURIComponent(version)}/cancel${query}`, {
        token: adminToken(opts),
        method: 'POST',
        body: opts.reason === undefined ? {} : { reason: opts.reason },
      }),
    );
  });

  connection(
    refresh
      .command('jobs')
      .description('Print the refresh jobs the quality-gate runs (declared, or of its old settings)'),
  ).action(async (opts: AdminConnection) => {
    printJson(await adminRequest(opts.url, '/admin/jobs', { token: adminToken(opts) }));
  });

  connection(
    refresh
      .command('baseline-audit')
      .description('Print who changed a baseline and how, newest first')
      .argument('<name>', 'baseline name'),
  ).action(async (name: string, opts: AdminConnection) => {
    printJson(
      await adminRequest(opts.url, `/admin/baselines/${encodeURIComponent(name)}/audit`, {
        token: adminToken(opts),
      }),
    );
  });
}
