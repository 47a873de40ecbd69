import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

/**
 * scripts/node.sh, as `npm test` and `npm run demo` source it, on a machine whose node is too old:
 * a fake `node` (and `uname`) first on PATH stands for that machine; npm is the real one.
 */
describe('scripts/node.sh on a machine with an old Node', () => {
  let work: string;
  let oldMachine: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'tributary-node-'));
    oldMachine = path.join(work, 'bin');
    await run('mkdir', ['-p', oldMachine]);
    // An old node that npm still runs on: the real one, reporting major version 20 to the probe.
    await writeFile(
      path.join(oldMachine, 'node'),
      `#!/usr/bin/env bash\nif [[ $* == *process.versions.node* ]]; then echo 20; exit 0; fi\nif [[ $1 == --version ]]; then echo v20.20.2; exit 0; fi\nexec ${process.execPath} "$@"\n`,
    );
    await chmod(path.join(oldMachine, 'node'), 0o755);
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  const sourceNodeSh = (env: Record<string, string>) =>
    run('bash', ['-c', 'source scripts/node.sh && node --version && command -v node'], {
      cwd: root,
      // The user's environment (npm's configuration, e.g. a registry or proxy), with the old machine's PATH.
      env: { ...process.env, ...env },
    });

  it('when the node on PATH is older than 24, then it fetches node-linux-<arch> from the npm registry into the cache and puts it first', async () => {
    const cache = path.join(work, 'cache');
    const { stdout, stderr } = await sourceNodeSh({
      PATH: `${oldMachine}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}/usr/bin:/bin`,
      TRIBUTARY_CACHE: cache,
    });
    const [version, where] = stdout.trim().split('\n');
    expect(version).toMatch(/^v24\./);
    expect(where).toBe(path.join(cache, `node-${version}-linux-${process.arch}`, 'bin', 'node'));
    expect(stderr).toContain('is older than the supported 24 LTS: fetching node-linux-');

    // Second time: from the cache, nothing fetched.
    const again = await sourceNodeSh({
      PATH: `${oldMachine}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}/usr/bin:/bin`,
      TRIBUTARY_CACHE: cache,
    });
    expect(again.stdout.trim().split('\n')[0]).toBe(version);
    expect(again.stderr).not.toContain('fetching');
  }, 180_000);

  it('when no official build fits the machine, then it stops saying what to install', async () => {
    const darwin = path.join(work, 'darwin');
    await run('mkdir', ['-p', darwin]);
    await writeFile(
      path.join(darwin, 'uname'),
      '#!/bin/sh\nif [ "$1" = -s ]; then echo Darwin; else echo arm64; fi\n',
    );
    await chmod(path.join(darwin, 'uname'), 0o755);
    const failed = await sourceNodeSh({
      PATH: `${darwin}${path.delimiter}${oldMachine}${path.delimiter}/usr/bin:/bin`,
      TRIBUTARY_CACHE: path.join(work, 'empty-cache'),
    }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('error: Tributary needs Node.js 24 or newer (found v20.20.2)');
    expect(failed?.stderr).toContain('Install Node.js 24 LTS from https://nodejs.org/en/download');
  });
});
