import type { Command } from 'commander';
import { adminToken, printJson, withAdminConnection, type AdminConnection } from '../admin-connection.ts';
import { adminRequest } from '../http.ts';

const connection = (cmd: Command): Command =>
  withAdminConnection(cmd, {
    name: 'quality-gate',
    urlEnv: 'TRIBUTARY_QUALITY_GATE_URL',
    defaultUrl: 'http://127.0.0.1:3003',
  });

/** `tributary refresh ...`: the dataset refresh (sampling + quality gate) on demand, and its runs. */
export function registerRefresh(program: Command): void {
  const refresh = program.command('refresh').description('Dataset refresh: run it now, list its runs');

  connection(
    refresh
      .command('run')
      .description('Run the refresh now and print the run (exit 1 when the gate or a source check fails)')
      .requiredOption('--dataset <name>', 'evaluation dataset to refresh'),
  ).action(async (opts: AdminConnection & { dataset: string }) => {
    const res = await fetch(`${opts.url.replace(/\/$/, '')}/admin/refresh`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(adminToken(opts) ? { authorization: `Bearer ${adminToken(opts)}` } : {}),
      },
      body: JSON.stringify({ dataset: opts.dataset }),
    });
    const text = await res.text();
    // 422 carries a finished, failed run: print it rather than an HTTP error.
    if (!res.ok && res.status !== 422) throw new Error(`POST /admin/refresh answered ${res.status}: ${text}`);
    printJson(JSON.parse(text) as unknown);
    if (res.status === 422) process.exitCode = 1;
  });

  connection(refresh.command('runs').description('Print the latest refresh runs, newest first')).action(
    async (opts: AdminConnection) => {
      printJson(await adminRequest(opts.url, '/admin/runs', { token: adminToken(opts) }));
    },
  );
}
