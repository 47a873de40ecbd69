/**
 * `tributary datasets …` as a team runs it against the real ingestor (which serves the catalog API):
 * a folder of declarations applied the GitOps way, diffed, re-applied as a no-op, changed with an
 * audit naming the actor and the field, and refused whole when a file is wrong.
 */
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runTributary } from '@tributary/testing';
import { startHarness, type Harness } from './helpers.ts';

let h: Harness;
let url: string;
let dir: string;
let contracts: string;

const repoContracts = fileURLToPath(new URL('../../../contracts/', import.meta.url));

function declare(gateMaxPsi: number): void {
  writeFileSync(
    path.join(dir, 'datasets', 'birds.yaml'),
    stringify({
      apiVersion: 'tributary/v1',
      kind: 'Dataset',
      name: 'birds',
      owners: ['field-team'],
      contract: { name: 'penguins', versions: ['1.0.0'], current: '1.0.0' },
      refresh_jobs: [{ name: 'birds-eval', schedule: null, gate: { max_psi: gateMaxPsi } }],
      notifications: { slack_webhook: '${BIRDS_SLACK_WEBHOOK}' },
    }),
  );
}

const tributary = (...args: string[]) =>
  runTributary(['datasets', ...args, '--url', url], {
    TRIBUTARY_ADMIN_TOKEN: h.config.ADMIN_TOKEN ?? '',
    BIRDS_SLACK_WEBHOOK: 'https://hooks.example.org/birds',
  });

beforeAll(async () => {
  h = await startHarness('catalog_cli', {}, { declare: [] });
  url = await h.app.http.listen({ host: '127.0.0.1', port: 0 });
  dir = mkdtempSync(path.join(tmpdir(), 'tributary-catalog-cli-'));
  mkdirSync(path.join(dir, 'datasets'));
  contracts = path.join(dir, 'contracts');
  cpSync(repoContracts, contracts, { recursive: true });
  declare(0.2);
});

afterAll(async () => {
  await h?.close();
});

describe('tributary datasets', () => {
  it('when a folder is applied, then it prints what it created; a second apply and a diff change nothing', async () => {
    const first = await tributary('apply', path.join(dir, 'datasets'), '--actor', 'alice');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('dataset/birds created');
    // The ingestor published the repository's contracts at start-up (CONTRACTS_DIR): same content.
    expect(first.stdout).toContain('contract/penguins@1.0.0 unchanged');

    const again = await tributary('apply', path.join(dir, 'datasets'));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('no change');
    const diff = await tributary('diff', path.join(dir, 'datasets'));
    expect(diff.code).toBe(0);

    const got = await tributary('get', 'birds', '-o', 'json');
    const spec = JSON.parse(got.stdout) as {
      notifications: { slack_webhook: string };
      refresh_jobs: { gate: object }[];
    };
    // ${VAR} was filled from the apply's environment; defaults are filled in.
    expect(spec.notifications.slack_webhook).toBe('https://hooks.example.org/birds');
    expect(spec.refresh_jobs[0]!.gate).toMatchObject({ max_psi: 0.2, min_coverage: 1 });
  });

  it('when a threshold is edited, then diff exits 1 naming the field, apply changes it, and history shows the actor and the diff', async () => {
    declare(0.35);
    const diff = await tributary('diff', path.join(dir, 'datasets'));
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain('dataset/birds updated (dry run)');
    expect(diff.stdout).toContain('refresh_jobs.0.gate.max_psi: 0.2 -> 0.35');

    const applied = await tributary('apply', path.join(dir, 'datasets'), '--actor', 'bob');
    expect(applied.code, applied.stderr).toBe(0);
    const history = await tributary('history', 'birds', '--json');
    const [latest] = JSON.parse(history.stdout) as { actor: string; action: string; diff: unknown[] }[];
    expect(latest).toMatchObject({ actor: 'bob', action: 'updated' });
    expect(latest!.diff).toEqual([{ path: 'refresh_jobs.0.gate.max_psi', from: 0.2, to: 0.35 }]);
  });

  it('when a published contract file is edited, then the apply is refused naming both hashes and nothing changes', async () => {
    const file = path.join(contracts, 'penguins', '1.0.0.yaml');
    const edited = parse(await import('node:fs').then((fs) => fs.readFileSync(file, 'utf8'))) as {
      max_bad_row_ratio: number;
    };
    writeFileSync(file, stringify({ ...edited, max_bad_row_ratio: 0.9 }));
    declare(0.5);
    const refused = await tributary('apply', path.join(dir, 'datasets'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /contract penguins@1\.0\.0 is published with sha256 [0-9a-f]{64} and cannot change \(this file has sha256 [0-9a-f]{64}\)/,
    );
    const got = await tributary('get', 'birds', '-o', 'json');
    expect(
      (JSON.parse(got.stdout) as { refresh_jobs: { gate: { max_psi: number } }[] }).refresh_jobs[0]!.gate
        .max_psi,
    ).toBe(0.35);
    cpSync(path.join(repoContracts, 'penguins', '1.0.0.yaml'), file);
  });

  it('when a declaration is invalid, then the CLI refuses it before sending, naming the file and the field', async () => {
    writeFileSync(
      path.join(dir, 'datasets', 'broken.yaml'),
      'apiVersion: tributary/v1\nkind: Dataset\nname: Broken Name\nowners: []\n',
    );
    const refused = await tributary('apply', path.join(dir, 'datasets'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('broken.yaml: name:');
    expect(refused.stderr).toContain('broken.yaml: owners:');
    expect(refused.stderr).toContain('broken.yaml: contract:');
  });
});
