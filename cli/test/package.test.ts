import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackEnv, uniqueName } from '@tributary/testing';
import { commandAreas } from '../src/commands/index.ts';

const run = promisify(execFile);
const cliDir = fileURLToPath(new URL('..', import.meta.url));
// npm and the installed command run on the node running the tests (Node 24 in CI).
const PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

describe('the CLI as an npm package', () => {
  let work: string;
  let tarball: string;
  let bin: string;

  const tributary = (args: string[], env: Record<string, string> = {}): Promise<Outcome> =>
    run(bin, args, { env: { PATH, HOME: work, ...env } }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({
        code: err.code,
        stdout: err.stdout,
        stderr: err.stderr,
      }),
    );

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'tributary-pack-'));
    // `npm pack` builds the bundle (prepack) and packs bin/ and dist/.
    const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', work], {
      cwd: cliDir,
      env: { ...process.env, PATH },
    });
    tarball = path.join(work, stdout.trim().split('\n').at(-1)!);
    const prefix = path.join(work, 'empty');
    await run('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', tarball], {
      cwd: work,
      env: { ...process.env, PATH },
    });
    bin = path.join(prefix, 'node_modules/.bin/tributary');
  }, 120_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('when packed, then the tarball holds the bundle and no TypeScript sources or dependencies', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n');
    expect(files).toContain('package/bin/tributary.js');
    expect(files).toContain('package/dist/tributary.js');
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
    expect(files.filter((f) => f.includes('node_modules/'))).toEqual([]);
    const pkg = JSON.parse(await readFile(path.join(cliDir, 'package.json'), 'utf8')) as {
      dependencies?: object;
    };
    expect(pkg.dependencies ?? {}).toEqual({});
  });

  it('when installed into an empty folder, then tributary prints its version, help and areas', async () => {
    const { version } = JSON.parse(await readFile(path.join(cliDir, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(await tributary(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
    const help = await tributary(['--help']);
    expect(help.code).toBe(0);
    for (const area of commandAreas) expect(help.stdout).toContain(area.name);
  });

  it('when a bundled command runs, then it works without the monorepo (libs, assets, kafkajs)', async () => {
    const schema = await tributary(['datasets', 'schema', '--json']);
    expect(schema.code).toBe(0);
    expect(JSON.parse(schema.stdout)).toHaveProperty('$schema');

    // The dead-letter topic names come from deploy/topics.yaml, packed as an asset; the broker is real.
    const prefix = `${uniqueName('pack')}.`;
    const dlq = await tributary(['dlq', 'list', '--service', 'ingestor', '--topic-prefix', prefix], {
      KAFKA_BROKERS: stackEnv.KAFKA_BROKERS,
    });
    expect(dlq).toMatchObject({ code: 1, stdout: '' });
    expect(dlq.stderr).toBe(
      `tributary: no dead-letter topic ${prefix}dlq.ingestor on ${stackEnv.KAFKA_BROKERS} (wrong topic prefix, or the service never ran there?)\n`,
    );
  });

  it('when a service is unreachable or a command unknown, then it exits 1 naming the problem', async () => {
    const down = await tributary(['lineage', '--batch', 'b1', '--preprocessor-url', 'http://127.0.0.1:9']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^tributary: cannot reach http:\/\/127\.0\.0\.1:9: /);
    const unknown = await tributary(['lineaje']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown command 'lineaje'");
  });

  it('when asked for completion, then bash completes areas, subcommands and options', async () => {
    const script = await tributary(['completion', 'bash']);
    expect(script.code).toBe(0);
    const complete = async (words: string[]) => {
      const { stdout } = await run('bash', [
        '-c',
        `source /dev/stdin <<'EOF'\n${script.stdout}\nEOF\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _tributary; echo "\${COMPREPLY[*]}"`,
      ]);
      return stdout.trim().split(' ');
    };
    expect(await complete(['tributary', 'da'])).toEqual(['datasets']);
    expect(await complete(['tributary', 'retrain', 'threshold', ''])).toEqual(['get', 'set', 'history']);
    expect(await complete(['tributary', 'lineage', '--b'])).toEqual(['--batch']);
    // Every read command takes --json (the completion table lists each command's options).
    const opts = new Map(
      [...script.stdout.matchAll(/^ {2}\['(tributary[^']*)'\]='([^']*)'$/gm)].map((m) => [
        m[1],
        m[2]!.split(' '),
      ]),
    );
    const reads = [
      'lineage',
      'dlq list',
      'datasets list',
      'datasets get',
      'datasets history',
      'datasets schema',
      'datasets diff',
      'retrain threshold get',
      'retrain threshold history',
      'retrain decisions',
      'refresh runs',
      'refresh jobs',
      'refresh baseline-audit',
    ];
    for (const read of reads) expect(opts.get(`tributary ${read}`), read).toContain('--json');
    const zsh = await tributary(['completion', 'zsh']);
    expect(zsh).toMatchObject({ code: 0 });
    expect(zsh.stdout).toMatch(/^#compdef tributary\n/);
    // Driven in zsh when the machine has one (compadd stubbed to print what it would offer).
    const hasZsh = await run('zsh', ['-c', 'true']).then(
      () => true,
      () => false,
    );
    if (hasZsh) {
      await writeFile(path.join(work, '_tributary'), zsh.stdout);
      const { stdout } = await run('zsh', [
        '-c',
        `source ${path.join(work, '_tributary')}; compadd() { shift; print -r -- "$@"; }; _files() { :; }; words=(tributary retrain ''); CURRENT=3; _tributary`,
      ]);
      expect(stdout.trim()).toBe('threshold decisions');
    }
    expect(await tributary(['completion', 'fish'])).toMatchObject({ code: 1 });
  });
});

describe('the command areas listed without loading them', () => {
  it('when each area is loaded, then it registers the name and description the list shows', async () => {
    for (const area of commandAreas) {
      const program = new Command('tributary');
      (await area.load())(program);
      expect(program.commands.map((c) => [c.name(), c.description()])).toEqual([
        [area.name, area.description],
      ]);
    }
  });
});
