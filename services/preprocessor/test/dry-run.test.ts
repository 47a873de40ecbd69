/**
 * Dry run: `tributary submit --dry-run` (run as a child process) and POST /validate on a running
 * preprocessor check a batch as the pipeline would and store nothing; the report equals the one
 * the pipeline writes for the same files.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceApp } from '@tributary/runtime';
import { runTributary, toCsv, writeSampleBatch, type SampleBatch } from '@tributary/testing';
import { buildApp } from '../src/app.ts';
import { loadServiceConfig } from '../src/config.ts';
import { testEnvironment, writeRawBatch, type TestEnvironment } from './helpers.ts';

let t: TestEnvironment;
let app: ServiceApp;
let url: string;
let batchDir: string;
let sample: SampleBatch;

beforeAll(async () => {
  t = await testEnvironment();
  app = await buildApp(loadServiceConfig(t.env));
  await app.start();
  url = await app.http.listen({ host: '127.0.0.1', port: 0 });
  // 12 penguins, 3 linking to images (the first one not an image), the last 2 of an unknown species,
  // plus a row repeating P0004's key and a row with a NUL in its image path.
  batchDir = path.join(t.storeDir, '..', `${path.basename(t.storeDir)}-producer`);
  sample = await writeSampleBatch(batchDir, { count: 12, images: 3, corruptImages: 1, invalidRows: 2 });
  const rows = [
    ...sample.rows,
    { ...sample.rows[3]!, beak_length_mm: 40 },
    { ...sample.rows[5]!, id: 'P0100', image: 'images/\u0000.png' },
  ];
  await fs.writeFile(path.join(batchDir, 'rows.csv'), toCsv(rows));
});
afterAll(async () => {
  await app?.stop();
  await t?.dispose();
  if (batchDir) await fs.rm(batchDir, { recursive: true, force: true });
});

const dryRun = (dir: string, ...extra: string[]) =>
  runTributary([
    'submit',
    dir,
    '--dataset',
    'penguins',
    '--contract',
    'penguins@1.0.0',
    '--dry-run',
    '--preprocessor-url',
    url,
    ...extra,
  ]);

interface Rejection {
  file: string;
  row: number;
  primary_key: Record<string, string | null>;
  reasons: { column: string | null; rule: string; message: string }[];
}

describe('dry run', () => {
  it('when a producer runs submit --dry-run, then the CLI prints every bad row with its rule and the verdict, and nothing is stored or announced', async () => {
    const run = await dryRun(batchDir);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('dry run: 4 files checked against penguins@1.0.0 for penguins');
    expect(run.stdout).toContain(
      'would merge the good rows: 6 of 14 rows bad, quarantined (PRE_ERR_ROWS_QUARANTINED)',
    );
    const lines = run.stdout.split('\n').filter((l) => l.startsWith('rows.csv\t'));
    expect(lines.map((l) => l.split('\t').slice(0, 4).join(' '))).toEqual([
      'rows.csv row 1 id=P0001 image',
      'rows.csv row 4 id=P0004 duplicate_key',
      'rows.csv row 11 id=P0011 enum',
      'rows.csv row 12 id=P0012 enum',
      'rows.csv row 13 id=P0004 duplicate_key',
      'rows.csv row 14 id=P0100 control_chars',
    ]);
    expect(run.stdout).toMatch(/row 1\tid=P0001\timage\timage "images\/P0001\.png": image cannot be decoded/);

    // Nothing stored, recorded or published.
    expect(await fs.readdir(t.storeDir)).toEqual([]);
    const { rows } = await t.pool.query('SELECT count(*)::int AS n FROM processed_batches');
    expect(rows[0]).toEqual({ n: 0 });
    expect((await fetch(`${url}/masters/penguins`)).status).toBe(404);
  });

  it('when the same files go through the pipeline, then its rejection report equals the dry run’s, row for row', async () => {
    const run = await dryRun(batchDir, '--json');
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { outcome: string; rejections: Rejection[] };
    expect(report.outcome).toBe('MERGE_PARTIAL');

    const rejections = await t.readRejections();
    const files = await Promise.all(
      ['rows.csv', ...sample.files.filter((f) => f.role === 'IMAGE').map((f) => f.path)].map(async (p) => ({
        path: p,
        role: p.endsWith('.csv') ? ('TABLE' as const) : ('IMAGE' as const),
        bytes: await fs.readFile(path.join(batchDir, p)),
      })),
    );
    await t.publish(await writeRawBatch(t.storeDir, 'penguins', 'dry-run-twin', files));
    const [partial] = await rejections.waitForCount(1);
    expect(partial).toMatchObject({ batch_id: 'dry-run-twin', partial: true, rejected_rows: 6 });
    const stored = (await fs.readFile(fileURLToPath(partial!.report_uri!), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => {
        const { run_id: _run, ...rest } = JSON.parse(l) as Rejection & { run_id: string };
        return rest;
      });
    expect(report.rejections).toEqual(stored);
  });

  it('when a table is not UTF-8 or the contract is unknown, then the dry run says the batch would be rejected, why, and exits 2', async () => {
    const dir = path.join(batchDir, '..', `${path.basename(batchDir)}-latin1`);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(
      path.join(dir, 'rows.csv'),
      Buffer.concat([
        Buffer.from('id,species,island\nP0001,Ad'),
        Buffer.from([0xe9]),
        Buffer.from(',Biscoe\n'),
      ]),
    );
    try {
      const bad = await dryRun(dir);
      expect(bad.code).toBe(2);
      expect(bad.stdout).toContain(
        'would be rejected: PRE_ERR_TABLE_UNREADABLE: rows.csv: cannot be read as csv: not UTF-8 at line 2, byte 9 of the line',
      );

      const unknown = await runTributary([
        'submit',
        batchDir,
        '--dataset',
        'penguins',
        '--contract',
        'penguins@9.9.9',
        '--dry-run',
        '--preprocessor-url',
        url,
      ]);
      expect(unknown.code).toBe(2);
      expect(unknown.stdout).toMatch(
        /would be rejected by the ingestor: CONTRACT_ERR_UNKNOWN: .*penguins@9\.9\.9/,
      );
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('when POST /validate gets a form without a manifest, then roles come from the names; a form without a dataset is a 400', async () => {
    const form = new FormData();
    form.append('dataset', 'penguins');
    form.append('contract', 'penguins@1.0.0');
    form.append('file', new Blob([await fs.readFile(path.join(batchDir, 'rows.csv'))]), 'rows.csv');
    const res = await fetch(`${url}/validate`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { outcome: string; error_code: string; rejections: Rejection[] };
    // Without the images, the rows linking to them are bad too: 8 of 14, above the contract's 0.5.
    expect(body).toMatchObject({
      outcome: 'REJECT',
      stage: 'VALIDATE',
      error_code: 'PRE_ERR_TOO_MANY_BAD_ROWS',
    });
    expect(
      body.rejections.filter((r) => r.reasons.some((x) => x.rule === 'image')).map((r) => r.row),
    ).toEqual([1, 2, 3]);

    const noDataset = new FormData();
    noDataset.append('file', new Blob(['id\n']), 'rows.csv');
    const refused = await fetch(`${url}/validate`, { method: 'POST', body: noDataset });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({
      error: { code: 'PRE_ERR_BAD_REQUEST', message: 'the form field "dataset" is required' },
    });
  });
});
