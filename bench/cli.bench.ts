// Start-up of the `tributary` command as producers install it:
//   node bench/cli.bench.ts [--runs 10] [--preprocessor-url URL --batch ID] [--before /path/to/old/bin]
// Packs cli/ (npm pack), installs the tarball into an empty folder, then times, wall clock from spawn
// to exit (median and max of --runs): `tributary --help`, `tributary --version` and a lineage query
// `tributary lineage --batch ID --json` against a running preprocessor: the one at --preprocessor-url
// (e.g. the demo's, http://127.0.0.1:3002), else one started here against the stack (its own schema
// and topics; the batch is then unknown and the answer a 404 with the chain's empty parts, the same
// round trip). The same commands from the checkout's sources (type stripping) follow; --before adds an
// older bin (e.g. the tsx-based one of an earlier checkout, run by its node) as the baseline.
// Targets: --help under 200 ms, lineage under 300 ms. Reference: `node -e 0`, the floor of any Node CLI.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createPool } from '@tributary/db';
import { freePort, serviceEnv, stackEnv, uniqueName, waitFor } from '@tributary/testing';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const runs = Number(arg('--runs') ?? 10);
const before = arg('--before');
const out = (line = '') => process.stdout.write(`${line}\n`);
const PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;

/** Wall-clock ms of one run, from spawn to exit; the exit code is kept to show what was timed. */
async function timeOnce(cmd: string, args: string[]): Promise<{ ms: number; code: number }> {
  const started = performance.now();
  const child = spawn(cmd, args, { stdio: 'ignore', env: { PATH, HOME: process.env.HOME ?? '' } });
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
  return { ms: performance.now() - started, code };
}

async function measure(cmd: string, args: string[]): Promise<{ median: number; max: number; code: number }> {
  await timeOnce(cmd, args); // warm the file cache
  const samples: { ms: number; code: number }[] = [];
  for (let i = 0; i < runs; i++) samples.push(await timeOnce(cmd, args));
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)]!, max: ms.at(-1)!, code: samples[0]!.code };
}

const work = await mkdtemp(path.join(tmpdir(), 'tributary-cli-bench-'));
let preprocessor: ChildProcess | undefined;
const schema = uniqueName('bench_cli');
try {
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', work], {
    cwd: path.join(root, 'cli'),
    env: { ...process.env, PATH },
  });
  const tarball = path.join(work, stdout.trim().split('\n').at(-1)!);
  await run('npm', ['install', '--prefix', path.join(work, 'app'), '--no-audit', '--no-fund', tarball], {
    env: { ...process.env, PATH },
  });
  const installed = path.join(work, 'app/node_modules/.bin/tributary');

  let url = arg('--preprocessor-url');
  const batch = arg('--batch') ?? 'bench-no-such-batch';
  if (!url) {
    const port = await freePort();
    preprocessor = spawn(process.execPath, ['services/preprocessor/src/main.ts'], {
      cwd: root,
      stdio: 'ignore',
      env: serviceEnv({
        HTTP_PORT: String(port),
        TOPIC_PREFIX: `${schema}.`,
        DATABASE_SCHEMA: schema,
        CATALOG_SCHEMA: `${schema}_catalog`,
        DATA_STORE_URI: `file://${work}/store`,
        ADMIN_TOKEN: 'bench-admin-token-0123456789',
      }),
    });
    url = `http://127.0.0.1:${port}`;
    await waitFor(
      () =>
        fetch(`${url}/readyz`).then(
          (r) => (r.ok ? true : undefined),
          () => undefined,
        ),
      { timeoutMs: 60_000 },
    );
  }
  const token = process.env.TRIBUTARY_ADMIN_TOKEN ?? 'bench-admin-token-0123456789';
  const lineage = ['lineage', '--batch', batch, '--json', '--preprocessor-url', url, '--token', token];

  const rows: [string, Awaited<ReturnType<typeof measure>>][] = [];
  const add = async (label: string, cmd: string, args: string[]) => {
    const m = await measure(cmd, args);
    rows.push([label, m]);
    process.stderr.write(`${label}: ${m.median.toFixed(0)} ms\n`);
  };
  await add('node -e 0 (reference)', process.execPath, ['-e', '0']);
  await add('installed: tributary --help', installed, ['--help']);
  await add('installed: tributary --version', installed, ['--version']);
  await add('installed: tributary lineage', installed, lineage);
  await add('checkout (type stripping): --help', process.execPath, ['cli/bin/tributary.js', '--help']);
  await add('checkout (type stripping): lineage', process.execPath, ['cli/bin/tributary.js', ...lineage]);
  if (before) {
    const [node, ...bin] = before.split(' ');
    await add(`before (${before}): --help`, node!, [...bin, '--help']);
    await add(`before (${before}): lineage`, node!, [...bin, ...lineage]);
  }

  out(`\n### tributary start-up, wall clock from spawn to exit (${runs} runs, node ${process.version})\n`);
  out(`lineage against ${url}, batch ${batch}\n`);
  out('| command | median (ms) | max (ms) | exit | × node -e 0 |');
  out('|---|---|---|---|---|');
  const floor = rows[0]![1].median;
  for (const [label, m] of rows)
    out(
      `| ${label} | ${m.median.toFixed(0)} | ${m.max.toFixed(0)} | ${m.code} | ${(m.median / floor).toFixed(1)} |`,
    );
  const help = rows.find(([l]) => l === 'installed: tributary --help')![1].median;
  const query = rows.find(([l]) => l.startsWith('installed: tributary lineage'))![1].median;
  out(
    `\ntargets: --help ${help.toFixed(0)} ms (< 200: ${help < 200 ? 'met' : 'MISSED'}), lineage ${query.toFixed(0)} ms (< 300: ${query < 300 ? 'met' : 'MISSED'})`,
  );
} finally {
  if (preprocessor) {
    const gone = new Promise((r) => preprocessor!.once('exit', r));
    preprocessor.kill('SIGTERM');
    await gone;
    const pool = createPool({ url: stackEnv.DATABASE_URL, schema: 'public' });
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}_catalog" CASCADE`);
    await pool.end();
  }
  await rm(work, { recursive: true, force: true });
}
