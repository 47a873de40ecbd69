import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.ts';

export interface RunningProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Node's arguments to run a TypeScript file: as deployed (`node <file>`, Node's own type stripping),
 * or through tsx on a Node older than the supported one (a test run by hand on an old Node).
 */
export function tsNodeArgs(file: string): string[] {
  return process.features.typescript ? [file] : ['--import', 'tsx', file];
}

/** Starts a TypeScript entry point the way users do (`node <file>`), capturing its output. */
export function startTsProcess(entry: URL | string, env: Record<string, string>): RunningProcess {
  const file = entry instanceof URL ? fileURLToPath(entry) : entry;
  const child = spawn(process.execPath, tsNodeArgs(file), {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/**
 * Ports for test servers: clear of the stack's and Ray's worker ports (up to 19999) and of the
 * kernel's ephemeral range (32768 and up).
 */
const LISTEN_PORTS = { from: 20_000, to: 32_000 };

/** A TCP port free right now on loopback. */
export async function freePort(): Promise<number> {
  // Below the kernel's ephemeral range: a port the OS hands out for `listen(0)` is also the kind it
  // gives outgoing connections (Kafka, Postgres clients of parallel test files), which took such a
  // port between this check and the service's own listen (EADDRINUSE).
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = LISTEN_PORTS.from + Math.floor(Math.random() * (LISTEN_PORTS.to - LISTEN_PORTS.from));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port between ${LISTEN_PORTS.from} and ${LISTEN_PORTS.to} after 50 tries`);
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * Waits until `proc` answers `path` (default `/healthz`) on loopback `port` with a 2xx. A process that
 * exits first fails the wait at once, with its exit and the tail of its output, instead of at timeout.
 */
export async function waitForServing(
  proc: RunningProcess,
  port: number,
  opts: { timeoutMs: number; what: string; path?: string },
): Promise<void> {
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void proc.exited.then((e) => (exited = e));
  try {
    await waitFor(
      async () => {
        if (exited) throw new ExitedError(exited);
        const res = await fetch(`http://127.0.0.1:${port}${opts.path ?? '/healthz'}`).catch(() => undefined);
        return res?.ok ? true : undefined;
      },
      { ...opts, stopOn: (err) => err instanceof ExitedError },
    );
  } catch (err) {
    const message = err instanceof ExitedError ? `${opts.what}: ${err.message}` : String(err);
    throw new Error(
      `${message}\n--- stdout (tail)\n${proc.stdout().slice(-3000)}\n--- stderr (tail)\n${proc.stderr().slice(-3000)}`,
    );
  }
}

class ExitedError extends Error {
  constructor(e: { code: number | null; signal: NodeJS.Signals | null }) {
    super(`the process exited (code ${e.code}, signal ${e.signal}) before it was serving`);
  }
}

const CLI = fileURLToPath(new URL('../../../cli/bin/tributary.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `tributary` command line as its users do (a child process of `cli/bin/tributary.js`),
 * with PATH, HOME and `env` only, so no setting of the test process leaks in.
 */
export function runTributary(
  args: readonly string[],
  env: Record<string, string> = {},
  /** Sees standard error as it comes, so a test can wait for what the command says it did. */
  opts: { onStderr?: (soFar: string) => void } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr);
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
