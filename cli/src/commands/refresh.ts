import type { Command } from 'commander';
import { adminRequest } from '../http.ts';

interface Connection {
  url: string;
  token?: string;
}

/** Adds --url and --token, defaulting to TRIBUTARY_QUALITY_GATE_URL and TRIBUTARY_ADMIN_TOKEN. */
function connection(cmd: Command): Command {
  return cmd
    .option(
      '--url <url>',
      'quality-gate admin API (env TRIBUTARY_QUALITY_GATE_URL)',
      process.env.TRIBUTARY_QUALITY_GATE_URL ?? 'http://127.0.0.1:3003',
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

/** `tributary refresh ...`: the dataset refresh (sampling + quality gate) on demand, and its runs. */
export function registerRefresh(program: Command): void {
  const refresh = program.command('refresh').description('Dataset refresh: run it now, list its runs');

  connection(
    refresh
      .command('run')
      .description('Run the refresh now and print the run (exit 1 when the gate or a source check fails)')
      .requiredOption('--dataset <name>', 'evaluation dataset to refresh'),
  ).action(async (opts: Connection & { dataset: string }) => {
    const res = await fetch(`${opts.url.replace(/\/$/, '')}/admin/refresh`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(tokenOf(opts) ? { authorization: `Bearer ${tokenOf(opts)}` } : {}),
      },
      body: JSON.stringify({ dataset: opts.dataset }),
    });
    const text = await res.text();
    // 422 carries a finished, failed run: print it rather than an HTTP error.
    if (!res.ok && res.status !== 422) throw new Error(`POST /admin/refresh answered ${res.status}: ${text}`);
    print(JSON.parse(text) as unknown);
    if (res.status === 422) process.exitCode = 1;
  });

  connection(refresh.command('runs').description('Print the latest refresh runs, newest first')).action(
    async (opts: Connection) => {
      print(await adminRequest(opts.url, '/admin/runs', { token: tokenOf(opts) }));
    },
  );
}
