import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stackEnv } from './stack-env.ts';

/** The real DVC CLI of the stack's virtualenv. */
export const DVC_BIN = path.join(stackEnv.TRIBUTARY_VENV, 'bin', 'dvc');

export interface DvcRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A scratch area whose DVC runs touch no global, system or site state of the machine. */
export class DvcSandbox {
  readonly dir: string;
  private constructor(dir: string) {
    this.dir = dir;
  }

  static async create(): Promise<DvcSandbox> {
    return new DvcSandbox(await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-dvc-')));
  }

  /** A new empty directory inside the sandbox. */
  async mkdir(name: string): Promise<string> {
    const dir = path.join(this.dir, name);
    await fs.mkdir(dir, { recursive: true });
    return dir;
  }

  /** A fresh `dvc init --no-scm` repository. */
  async initRepo(name: string): Promise<string> {
    const repo = await this.mkdir(name);
    await this.dvcOk(repo, ['init', '--no-scm', '-q']);
    return repo;
  }

  /** Runs `dvc args...` in `cwd` and reports how it ended, whatever the exit code. */
  dvc(cwd: string, args: readonly string[]): Promise<DvcRun> {
    const home = path.join(this.dir, '.home');
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      DVC_NO_ANALYTICS: '1',
      DVC_STUDIO_OFFLINE: '1',
      DVC_GLOBAL_CONFIG_DIR: path.join(home, 'global'),
      DVC_SYSTEM_CONFIG_DIR: path.join(home, 'system'),
      DVC_SITE_CACHE_DIR: path.join(home, 'site-cache'),
    };
    return new Promise((resolve, reject) => {
      execFile(DVC_BIN, [...args], { cwd, env, timeout: 120_000 }, (err, stdout, stderr) => {
        if (err !== null && typeof err.code !== 'number') {
          reject(new Error(`Could not run ${DVC_BIN} (set TRIBUTARY_VENV): ${err.message}`));
          return;
        }
        resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
      });
    });
  }

  /** Runs dvc and fails with its output unless it exits 0. */
  async dvcOk(cwd: string, args: readonly string[]): Promise<DvcRun> {
    const run = await this.dvc(cwd, args);
    if (run.code !== 0) {
      throw new Error(`dvc ${args.join(' ')} exited ${run.code}\n${run.stdout}\n${run.stderr}`);
    }
    return run;
  }

  async dispose(): Promise<void> {
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}

/** Every regular file below `dir` as relpath → content, skipping the directories given. */
export async function readTree(dir: string, skip: readonly string[] = []): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const entry of await fs.readdir(abs, { withFileTypes: true })) {
      const relpath = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (skip.includes(relpath)) continue;
      const child = path.join(abs, entry.name);
      if (entry.isDirectory()) await walk(child, relpath);
      else out.set(relpath, await fs.readFile(child));
    }
  };
  await walk(dir, '');
  return out;
}

/** Compares two trees by content; returns the relpaths that differ or exist on one side only. */
export function treeDifferences(a: Map<string, Buffer>, b: Map<string, Buffer>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => {
    const x = a.get(k);
    const y = b.get(k);
    return x === undefined || y === undefined || !x.equals(y);
  });
}
