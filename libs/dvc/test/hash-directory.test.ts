import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dvcObjectKey, hashDirectory, hashFile, renderDvcFile, writeToCache } from '../src/index.ts';
import { DvcSandbox, readTree, treeDifferences } from '@tributary/testing';
import { IGNORED_FILES, TRICKY_FILES, pseudoRandomBytes, writeFiles } from './fixtures.ts';

let sandbox: DvcSandbox;
beforeAll(async () => {
  sandbox = await DvcSandbox.create();
});
afterAll(() => sandbox.dispose());

describe('hashDirectory against dvc add', () => {
  it('when dvc add tracks a directory, then our hash, .dvc file, .dir object and cache match it byte for byte', async () => {
    const repo = await sandbox.initRepo('add-dir');
    const data = path.join(repo, 'data');
    await writeFiles(data, [...TRICKY_FILES, ...IGNORED_FILES]);

    const ours = await hashDirectory(data);
    const ourCache = await sandbox.mkdir('add-dir-our-cache');
    await writeToCache(ourCache, { directory: data, hash: ours });
    await sandbox.dvcOk(repo, ['add', 'data']);

    const dvcFile = await fs.readFile(path.join(repo, 'data.dvc'), 'utf8');
    expect(renderDvcFile({ path: 'data', md5: ours.md5, size: ours.size, nfiles: ours.nfiles })).toBe(
      dvcFile,
    );
    expect(ours.nfiles).toBe(TRICKY_FILES.length);
    const dirObject = await fs.readFile(
      path.join(repo, '.dvc', 'cache', ...dvcObjectKey(ours.md5).split('/')),
    );
    expect(dirObject.toString('latin1')).toBe(ours.json);
    const theirs = await readTree(path.join(repo, '.dvc', 'cache'));
    expect([...theirs.keys()].sort()).toEqual([...(await readTree(ourCache)).keys()].sort());
    expect(treeDifferences(theirs, await readTree(ourCache))).toEqual([]);
  });

  it('when dvc add tracks an empty directory, then our hash matches it', async () => {
    const repo = await sandbox.initRepo('add-empty');
    await fs.mkdir(path.join(repo, 'nothing', 'nested'), { recursive: true });

    const ours = await hashDirectory(path.join(repo, 'nothing'));
    await sandbox.dvcOk(repo, ['add', 'nothing']);

    expect(renderDvcFile({ path: 'nothing', ...ours })).toBe(
      await fs.readFile(path.join(repo, 'nothing.dvc'), 'utf8'),
    );
  });

  it('when dvc add tracks a single file, then our .dvc file and cache object match it', async () => {
    const repo = await sandbox.initRepo('add-file');
    const model = path.join(repo, 'model.bin');
    await fs.writeFile(model, pseudoRandomBytes(2_345_678, 'model'));

    const ours = await hashFile(model);
    const ourCache = await sandbox.mkdir('add-file-our-cache');
    const pushed = await writeToCache(ourCache, { file: model });
    await sandbox.dvcOk(repo, ['add', 'model.bin']);

    expect(pushed).toEqual({ ...ours, uploaded: 1, skipped: 0 });
    expect(renderDvcFile({ path: 'model.bin', ...ours })).toBe(
      await fs.readFile(path.join(repo, 'model.bin.dvc'), 'utf8'),
    );
    expect(
      treeDifferences(await readTree(path.join(repo, '.dvc', 'cache')), await readTree(ourCache)),
    ).toEqual([]);
  });

  it('when a tracked directory holds a .dvcignore, then hashing refuses it as DVC does', async () => {
    const dir = await sandbox.mkdir('with-dvcignore');
    await writeFiles(dir, [
      ['x', 'x'],
      ['sub/.dvcignore', '*.tmp\n'],
    ]);

    await expect(hashDirectory(dir)).rejects.toThrow(/\.dvcignore/);
  });
});
