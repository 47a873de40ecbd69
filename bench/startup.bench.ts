// Service start-up time and memory, by the way the TypeScript is run:
//   node bench/startup.bench.ts [--service retrain-policy] [--runs 3] [--old-node /path/to/node20]
// Variants: Node's own type stripping (`node src/main.ts`, what we ship), JavaScript built by tsc
// (`tsc` into a scratch folder, `node main.js`), both also with Node's compile cache
// (NODE_COMPILE_CACHE, warmed by the discarded first start, as the images warm it at build time), and
// tsx (`node --import tsx src/main.ts`, what ran before); with --old-node, also tsx on that node (the
// Node 20 baseline). Two figures per variant:
// - load: a process that only imports the service's src/app.ts (every module, nothing started) reports
//   its own CPU time (user + system) and RSS; CPU time, unlike wall time, hardly moves when the machine
//   is shared;
// - ready: a real start, timed from spawn to the first 200 from /readyz (database, broker, registry and
//   consumer group joined), then VmRSS and VmHWM from /proc.
// One start per variant is discarded first (migrations, topic creation, cache). Needs the local stack.
import { spawn } from 'node:child_process';
import {
  cpSync,
  mkdtempSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createPool } from '@tributary/db';
import { freePort, serviceEnv, stackEnv, uniqueName } from '@tributary/testing';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const out = (line = '') => process.stdout.write(`${line}\n`);
const progress = (line: string) => process.stderr.write(`${line}\n`);
const service = arg('--service') ?? 'retrain-policy';
const runs = Number(arg('--runs') ?? 3);
const oldNode = arg('--old-node');

interface Variant {
  name: string;
  node: string;
  /** Node's arguments before the file to run. */
  flags: string[];
  main: string;
  app: string;
  cache?: string;
}

/** tsc output of the libs and the service, runnable by plain node (relative imports rewritten to .js). */
async function buildWithTsc(): Promise<string> {
  const out = path.join(root, 'node_modules/.cache/tributary-bench/tsc');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const tsconfig = path.join(out, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: path.join(root, 'tsconfig.base.json'),
      compilerOptions: {
        rootDir: root,
        outDir: out,
        noEmit: false,
        rewriteRelativeImportExtensions: true,
        sourceMap: false,
      },
      include: [path.join(root, 'libs/*/src'), path.join(root, `services/${service}/src`)],
      exclude: [path.join(root, 'libs/testing')],
    }),
  );
  const started = performance.now();
  const tsc = spawn(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], {
    stdio: 'inherit',
  });
  await new Promise<void>((resolve, reject) =>
    tsc.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tsc exited ${code}`)))),
  );
  progress(`tsc build: ${Math.round(performance.now() - started)} ms`);
  // Files the code reads beside itself: migrations, Avro schemas, contracts, templates, topics.
  for (const dir of ['contracts', 'templates', 'deploy'])
    cpSync(path.join(root, dir), path.join(out, dir), { recursive: true });
  const copyAssets = (from: string, to: string) =>
    cpSync(from, to, { recursive: true, filter: (src) => !src.endsWith('.ts') });
  for (const lib of readdirSync(path.join(root, 'libs'))) {
    if (!existsSync(path.join(out, 'libs', lib))) continue;
    copyAssets(path.join(root, 'libs', lib), path.join(out, 'libs', lib));
    const pkg = JSON.parse(readFileSync(path.join(root, 'libs', lib, 'package.json'), 'utf8')) as {
      exports: Record<string, string>;
    };
    pkg.exports = Object.fromEntries(
      Object.entries(pkg.exports).map(([k, v]) => [k, v.replace(/\.ts$/, '.js')]),
    );
    writeFileSync(path.join(out, 'libs', lib, 'package.json'), JSON.stringify(pkg));
    mkdirSync(path.join(out, 'node_modules/@tributary'), { recursive: true });
    symlinkSync(path.join(out, 'libs', lib), path.join(out, 'node_modules/@tributary', lib));
  }
  copyAssets(path.join(root, 'services', service), path.join(out, 'services', service));
  return out;
}

interface Sample {
  readyMs: number;
  rssMiB: number;
  peakMiB: number;
}

/** CPU time and RSS of a process that imports the service's modules and exits. */
async function loadOnce(v: Variant): Promise<{ cpuMs: number; rssMiB: number }> {
  const script = `await import(${JSON.stringify(pathToFileURL(path.resolve(root, v.app)).href)}); const u = process.cpuUsage(); process.stdout.write(JSON.stringify({ cpuMs: (u.user + u.system) / 1000, rssMiB: process.memoryUsage().rss / 2 ** 20 }));`;
  const child = spawn(v.node, [...v.flags, '--input-type=module', '-e', script], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...(v.cache ? { NODE_COMPILE_CACHE: v.cache } : {}) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  return JSON.parse(stdout) as { cpuMs: number; rssMiB: number };
}

function procStatus(pid: number, field: string): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Number(line?.replace(/\D+/g, '') ?? 0) / 1024;
}

async function startOnce(v: Variant, env: Record<string, string>): Promise<Sample> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(v.node, [...v.flags, v.main], {
    cwd: root,
    env: { ...env, HTTP_PORT: String(port), ...(v.cache ? { NODE_COMPILE_CACHE: v.cache } : {}) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  try {
    for (;;) {
      if (exited) throw new Error(`${v.name} exited before it was ready:\n${stderr.slice(-2000)}`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const readyMs = performance.now() - started;
    return { readyMs, rssMiB: procStatus(child.pid!, 'VmRSS'), peakMiB: procStatus(child.pid!, 'VmHWM') };
  } finally {
    const gone = new Promise((r) => (exited ? r(undefined) : child.once('exit', r)));
    child.kill('SIGTERM');
    await gone;
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const id = uniqueName('bench_startup');
const env = serviceEnv({
  LOG_LEVEL: 'warn',
  NODE_ENV: 'production',
  TOPIC_PREFIX: `${id}.`,
  DATABASE_SCHEMA: id,
  CATALOG_SCHEMA: `${id}_catalog`,
  MLFLOW_TRACKING_URI: stackEnv.MLFLOW_TRACKING_URI,
  SHUTDOWN_GRACE_MS: '1000',
  // Services with a data store (ingestor, preprocessor) get a scratch folder.
  DATA_STORE_URI: `file://${mkdtempSync(path.join(tmpdir(), 'tributary-startup-'))}`,
});
const entry = `services/${service}/src/main.ts`;
const app = `services/${service}/src/app.ts`;
const js = await buildWithTsc();
const jsMain = path.join(js, `services/${service}/src/main.js`);
const jsApp = path.join(js, `services/${service}/src/app.js`);
const caches = mkdtempSync(path.join(tmpdir(), 'tributary-compile-cache-'));
const node = process.execPath;
const nodeVersion = process.version;
const variants: Variant[] = [
  { name: `type stripping (node ${nodeVersion} src/main.ts)`, node, flags: [], main: entry, app },
  {
    name: `type stripping + compile cache`,
    node,
    flags: [],
    main: entry,
    app,
    cache: path.join(caches, 'strip'),
  },
  { name: `tsc-built JS (node ${nodeVersion} main.js)`, node, flags: [], main: jsMain, app: jsApp },
  {
    name: `tsc-built JS + compile cache`,
    node,
    flags: [],
    main: jsMain,
    app: jsApp,
    cache: path.join(caches, 'tsc'),
  },
  { name: `tsx (node ${nodeVersion} --import tsx)`, node, flags: ['--import', 'tsx'], main: entry, app },
];
if (oldNode) {
  const version = await new Promise<string>((resolve) => {
    const c = spawn(oldNode, ['--version']);
    let s = '';
    c.stdout.on('data', (d: Buffer) => (s += d.toString()));
    c.once('exit', () => resolve(s.trim()));
  });
  variants.push({
    name: `tsx (node ${version} --import tsx), before`,
    node: oldNode,
    flags: ['--import', 'tsx'],
    main: entry,
    app,
  });
}

const rows: string[] = [];
try {
  for (const v of variants) {
    await startOnce(v, env); // warm-up: migrations, topics, consumer group, compile cache
    const loads: { cpuMs: number; rssMiB: number }[] = [];
    for (let i = 0; i < runs; i++) loads.push(await loadOnce(v));
    const samples: Sample[] = [];
    for (let i = 0; i < runs; i++) samples.push(await startOnce(v, env));
    const row = `| ${v.name} | ${Math.round(median(loads.map((l) => l.cpuMs)))} | ${median(loads.map((l) => l.rssMiB)).toFixed(0)} | ${Math.round(median(samples.map((s) => s.readyMs)))} | ${median(samples.map((s) => s.rssMiB)).toFixed(0)} | ${median(samples.map((s) => s.peakMiB)).toFixed(0)} |`;
    rows.push(row);
    progress(row);
  }
} finally {
  const pool = createPool({ url: stackEnv.DATABASE_URL, schema: 'public' });
  await pool.query(`DROP SCHEMA IF EXISTS "${id}" CASCADE`);
  await pool.query(`DROP SCHEMA IF EXISTS "${id}_catalog" CASCADE`);
  await pool.end();
}

out(`\n### ${service}: median of ${runs} (${process.platform}, ${process.arch})\n`);
out(
  '| how the TypeScript runs | load CPU (ms) | RSS after load (MiB) | ready (ms) | RSS at ready (MiB) | peak RSS (MiB) |',
);
out('|---|---|---|---|---|---|');
for (const r of rows) out(r);
