import { createObjectStore } from '@tributary/storage';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashDirectory, pushToRemote, renderDvcFile } from '../src/index.ts';
import { DvcSandbox, readTree, treeDifferences } from '@tributary/testing';
import { TRICKY_FILES, writeFiles } from './fixtures.ts';

let sandbox: DvcSandbox;
let source: string;
beforeAll(async () => {
  sandbox = await DvcSandbox.create();
  source = await sandbox.mkdir('source');
  await writeFiles(source, TRICKY_FILES);
});
afterAll(() => sandbox.dispose());

describe('dvc pull from a remote we wrote', () => {
  it('when we push a directory to an object-store remote, then dvc pull in a fresh repo gets it byte-identical', async () => {
    const remoteDir = await sandbox.mkdir('remote');
    const remote = createObjectStore(remoteDir);
    const repo = await sandbox.initRepo('pull-dir');

    const out = await pushToRemote(remote, { directory: source });
    await sandbox.dvcOk(repo, ['remote', 'add', '-d', 'origin', remoteDir]);
    await fs.writeFile(path.join(repo, 'data.dvc'), renderDvcFile({ path: 'data', ...out }));
    await sandbox.dvcOk(repo, ['pull']);

    expect(treeDifferences(await readTree(path.join(repo, 'data')), await readTree(source))).toEqual([]);
    const status = await sandbox.dvc(repo, ['status']);
    expect(status.code).toBe(0);
    expect(status.stdout.trim()).toBe('Data and pipelines are up to date.');
  });

  it('when we push a single file, then dvc pull gets it byte-identical', async () => {
    const remoteDir = await sandbox.mkdir('remote-file');
    const repo = await sandbox.initRepo('pull-file');
    const file = path.join(source, 'ünïcødé.txt');

    const out = await pushToRemote(createObjectStore(remoteDir), { file });
    await sandbox.dvcOk(repo, ['remote', 'add', '-d', 'origin', remoteDir]);
    await fs.writeFile(path.join(repo, 'ünïcødé.txt.dvc'), renderDvcFile({ path: 'ünïcødé.txt', ...out }));
    await sandbox.dvcOk(repo, ['pull']);

    expect(await fs.readFile(path.join(repo, 'ünïcødé.txt'), 'utf8')).toBe(await fs.readFile(file, 'utf8'));
  });

  it('when the same directory is pushed twice, then the second push writes nothing', async () => {
    const remote = createObjectStore(await sandbox.mkdir('remote-twice'));
    const hash = await hashDirectory(source);
    // Two files share content, so there is one object fewer than files, plus the .dir object.
    const objects = new Set(hash.entries.map((e) => e.md5)).size + 1;

    const first = await pushToRemote(remote, { directory: source, hash });
    const second = await pushToRemote(remote, { directory: source, hash });

    expect(first).toMatchObject({ md5: hash.md5, uploaded: objects, skipped: 0 });
    expect(second).toMatchObject({ md5: hash.md5, uploaded: 0, skipped: objects });
  });
});
