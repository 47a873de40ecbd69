/**
 * File roles: the CLI decides them by content and name and lets the producer name them, leaving out
 * what is neither a table nor an image; the ingestor's own default (HTTP without roles, landing zone)
 * decides by content too (Parquet and image bytes whatever the name) and never takes a file that is
 * neither for a table.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTributary, sampleImagePath, writeSampleBatch } from '@tributary/testing';
import { scratchDir, startHarness, type Harness } from './helpers.ts';

let h: Harness;
let url: string;
let landing: string;

beforeAll(async () => {
  landing = path.join(scratchDir('cli-roles-landing'), 'landing');
  h = await startHarness('cli-roles', { LANDING_DIR: landing, LANDING_SCAN_INTERVAL_MS: '300' });
  url = await h.app.http.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await h?.close();
  if (landing) await fs.rm(path.dirname(landing), { recursive: true, force: true });
});

/** Parquet as a Spark job names it (no extension): only its magic bytes say what it is. */
const PARQUET_BYTES = Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(64, 7), Buffer.from('PAR1')]);

const SVG =
  '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30" fill="red"/></svg>\n';

describe('file roles of a submitted batch', () => {
  it('when a folder holds an .svg, a README, an image under an odd name and a file named with --image, then the CLI gives each its role by content, name or the producer’s word, and leaves the README out', async () => {
    const dir = path.join(h.root, 'roles');
    const sample = await writeSampleBatch(dir, { offset: 250, count: 4, images: 2 });
    const png = sample.files.find((f) => f.role === 'IMAGE')!;
    await fs.writeFile(path.join(dir, 'images', 'drawing.svg'), SVG);
    await fs.writeFile(path.join(dir, 'README.md'), '# Field notes\nPenguins counted on Biscoe.\n');
    await fs.mkdir(path.join(dir, 'scans'));
    await fs.copyFile(path.join(dir, png.path), path.join(dir, 'scans', 'P0001.img'));
    await fs.mkdir(path.join(dir, 'notes'));
    await fs.writeFile(path.join(dir, 'notes', 'legend.txt'), 'linked by rows\n');

    const run = await runTributary([
      'submit',
      dir,
      '--dataset',
      'penguins',
      '--url',
      url,
      '--image',
      'notes/*.txt',
      '--wait',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^left out, neither a table nor an image .*: README\.md$/m);
    const batchId = /^batch (\S+) submitted/m.exec(run.stdout)?.[1];
    const ingested = await h.ingested.waitFor((e) => e.batch_id === batchId);
    const roles = Object.fromEntries(ingested.files.map((f) => [f.path, f.role]));
    expect(roles).toEqual({
      ...Object.fromEntries(sample.files.map((f) => [f.path, f.role])),
      'images/drawing.svg': 'IMAGE',
      'scans/P0001.img': 'IMAGE',
      'notes/legend.txt': 'IMAGE',
    });
    expect(roles['rows.csv']).toBe('TABLE');
  });

  it('when the producer names a table with --table, then it is a table whatever its name', async () => {
    const dir = path.join(h.root, 'named-table');
    await writeSampleBatch(dir, { offset: 260, count: 3 });
    await fs.rename(path.join(dir, 'rows.csv'), path.join(dir, 'rows.export'));
    const run = await runTributary([
      'submit',
      dir,
      '--dataset',
      'penguins',
      '--url',
      url,
      '--table',
      '*.export',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const batchId = /^batch (\S+) submitted/m.exec(run.stdout)?.[1];
    const ingested = await h.ingested.waitFor((e) => e.batch_id === batchId);
    expect(ingested.files.map((f) => [f.path, f.role])).toEqual([['rows.export', 'TABLE']]);
  });

  it('when an HTTP upload declares no roles, then only files in a table format are tables: an .svg and a README are files rows may link to', async () => {
    const dir = path.join(h.root, 'http-roles');
    await writeSampleBatch(dir, { offset: 270, count: 3 });
    const form = new FormData();
    form.append('dataset', 'penguins');
    form.append('batch_id', 'http-roles-1');
    form.append('file', new Blob([await fs.readFile(path.join(dir, 'rows.csv'))]), 'rows.csv');
    form.append('file', new Blob([SVG]), 'images/drawing.svg');
    form.append('file', new Blob(['# notes\n']), 'README.md');
    const res = await fetch(`${url}/batches`, { method: 'POST', body: form });
    expect(res.status, await res.clone().text()).toBe(202);
    const ingested = await h.ingested.waitFor((e) => e.batch_id === 'http-roles-1');
    expect(Object.fromEntries(ingested.files.map((f) => [f.path, f.role]))).toEqual({
      'rows.csv': 'TABLE',
      'images/drawing.svg': 'IMAGE',
      'README.md': 'IMAGE',
    });
  });

  it('when an HTTP upload and a landing-zone folder declare no roles, then a Parquet file without extension is a table and a PNG named .dat an image, by their bytes', async () => {
    const dir = path.join(h.root, 'content-roles');
    await writeSampleBatch(dir, { offset: 280, count: 3 });
    const files: [string, Buffer][] = [
      ['rows.csv', await fs.readFile(path.join(dir, 'rows.csv'))],
      ['part-00000', PARQUET_BYTES],
      ['scans/photo.dat', await fs.readFile(sampleImagePath('gimp.png'))],
      ['README', Buffer.from('notes\n')],
    ];
    const expected = {
      'rows.csv': 'TABLE',
      'part-00000': 'TABLE',
      'scans/photo.dat': 'IMAGE',
      README: 'IMAGE',
    };

    const form = new FormData();
    form.append('dataset', 'penguins');
    form.append('batch_id', 'content-roles-1');
    for (const [name, bytes] of files) form.append('file', new Blob([bytes]), name);
    const res = await fetch(`${url}/batches`, { method: 'POST', body: form });
    expect(res.status, await res.clone().text()).toBe(202);
    const uploaded = await h.ingested.waitFor((e) => e.batch_id === 'content-roles-1');
    expect(Object.fromEntries(uploaded.files.map((f) => [f.path, f.role]))).toEqual(expected);

    const folder = path.join(landing, 'penguins', 'content-roles-2');
    for (const [name, bytes] of files) {
      await fs.mkdir(path.dirname(path.join(folder, name)), { recursive: true });
      await fs.writeFile(path.join(folder, name), bytes);
    }
    await fs.writeFile(path.join(folder, '_READY'), '');
    const dropped = await h.ingested.waitFor((e) => e.batch_id === 'content-roles-2');
    expect(Object.fromEntries(dropped.files.map((f) => [f.path, f.role]))).toEqual(expected);
  });
});
