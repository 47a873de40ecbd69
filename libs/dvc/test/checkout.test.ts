import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Md5PassThrough, md5Buffer, renderDvcFile, writeToCache, type StagedEntry } from '../src/index.ts';
import { DvcSandbox, readTree, treeDifferences } from '@tributary/testing';
import { TRICKY_FILES, pseudoRandomBytes, writeFiles } from './fixtures.ts';

let sandbox: DvcSandbox;
let source: string;
beforeAll(async () => {
  sandbox = await DvcSandbox.create();
  source = await sandbox.mkdir('source');
  await writeFiles(source, TRICKY_FILES);
});
afterAll(() => sandbox.dispose());

const UP_TO_DATE = 'Data and pipelines are up to date.';

describe('dvc checkout from what we wrote', () => {
  it('when we fill the cache and write the .dvc file of a directory, then dvc checkout restores it and status is clean', async () => {
    const repo = await sandbox.initRepo('checkout-dir');

    const out = await writeToCache(path.join(repo, '.dvc', 'cache'), { directory: source });
    await fs.writeFile(path.join(repo, 'data.dvc'), renderDvcFile({ path: 'data', ...out }));
    await sandbox.dvcOk(repo, ['checkout']);

    expect(treeDifferences(await readTree(path.join(repo, 'data')), await readTree(source))).toEqual([]);
    expect((await readTree(path.join(repo, 'data'))).size).toBe(TRICKY_FILES.length);
    const status = await sandbox.dvc(repo, ['status']);
    expect(status.code).toBe(0);
    expect(status.stdout.trim()).toBe(UP_TO_DATE);
  });

  it('when we fill the cache with a single file, then dvc checkout restores it and status is clean', async () => {
    const repo = await sandbox.initRepo('checkout-file');
    const file = path.join(source, 'sub', 'deeper', 'still', 'big.bin');

    const out = await writeToCache(path.join(repo, '.dvc', 'cache'), { file });
    await fs.writeFile(path.join(repo, 'big.bin.dvc'), renderDvcFile({ path: 'big.bin', ...out }));
    await sandbox.dvcOk(repo, ['checkout']);

    expect((await fs.readFile(path.join(repo, 'big.bin'))).equals(await fs.readFile(file))).toBe(true);
    const status = await sandbox.dvc(repo, ['status']);
    expect(status.code).toBe(0);
    expect(status.stdout.trim()).toBe(UP_TO_DATE);
  });

  it('when parts are hashed while being written, then the cache built from those md5s checks out', async () => {
    const repo = await sandbox.initRepo('checkout-entries');
    const parts = await sandbox.mkdir('parts');
    const entries: StagedEntry[] = [];
    for (let i = 0; i < 3; i++) {
      // As the preprocessor does: the md5 comes from the bytes on their way to disk, never re-read.
      const local = path.join(parts, `part-${i}.bin`);
      const tap = new Md5PassThrough();
      await pipeline(
        Readable.from([pseudoRandomBytes(200_000 + i, `part-${i}`)]),
        tap,
        createWriteStream(local),
      );
      entries.push({ relpath: `parts/part-${i}.bin`, ...tap.result, source: local });
    }
    const manifest = Buffer.from('{"parts": 3}\n');
    entries.push({
      relpath: 'manifest.json',
      md5: md5Buffer(manifest),
      size: manifest.length,
      source: manifest,
    });

    const out = await writeToCache(path.join(repo, '.dvc', 'cache'), { entries });
    await fs.writeFile(path.join(repo, 'master.dvc'), renderDvcFile({ path: 'master', ...out }));
    await sandbox.dvcOk(repo, ['checkout']);

    const restored = await readTree(path.join(repo, 'master'));
    expect([...restored.keys()].sort()).toEqual([
      'manifest.json',
      'parts/part-0.bin',
      'parts/part-1.bin',
      'parts/part-2.bin',
    ]);
    expect(restored.get('manifest.json')).toEqual(manifest);
    for (let i = 0; i < 3; i++) {
      expect(
        restored.get(`parts/part-${i}.bin`)?.equals(await fs.readFile(path.join(parts, `part-${i}.bin`))),
      ).toBe(true);
    }
    expect((await sandbox.dvc(repo, ['status'])).stdout.trim()).toBe(UP_TO_DATE);
  });
});
