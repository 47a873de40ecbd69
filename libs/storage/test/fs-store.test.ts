import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { FsObjectStore, ObjectNotFoundError, createObjectStore } from '../src/index.ts';
import { objectStoreContract } from './contract.ts';

const roots: string[] = [];

async function freshRoot(): Promise<string> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-fs-store-'));
  roots.push(root);
  return root;
}

afterAll(async () => {
  await Promise.all(roots.map((root) => fs.rm(root, { recursive: true, force: true })));
});

objectStoreContract('filesystem', async () => createObjectStore(await freshRoot()));

describe('FsObjectStore', () => {
  it('when an object is copied within one filesystem, then the copy is a link to the same bytes, not a second copy', async () => {
    const root = await freshRoot();
    const store = new FsObjectStore(path.join(root, 'a'));
    const other = new FsObjectStore(path.join(root, 'b'));
    await store.put('big.bin', Buffer.alloc(1024 * 1024, 'x'));

    await other.copyFrom(store, 'big.bin', 'copy.bin');

    const [source, copy] = await Promise.all([
      fs.stat(store.pathOf('big.bin')),
      fs.stat(other.pathOf('copy.bin')),
    ]);
    expect(copy.ino).toBe(source.ino);
    expect(copy.nlink).toBe(2);
    // No temp name is left beside it.
    expect(await fs.readdir(path.join(root, 'b'))).toEqual(['copy.bin']);
  });

  it('when a reader reads while a writer replaces an object, then it only ever sees a whole version', async () => {
    const store = new FsObjectStore(await freshRoot());
    const size = 2 * 1024 * 1024;
    const versions = ['a', 'b'].map((c) => Buffer.alloc(size, c));
    await store.put('hot/object', versions[0] ?? '');

    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 40; i++) {
        // A slow stream: a non-atomic write would leave a visible prefix for a while.
        await store.put('hot/object', Readable.from(chunksOf(versions[i % 2] ?? Buffer.alloc(0), 64 * 1024)));
      }
      writing = false;
    })();
    const seen = new Set<string>();
    let reads = 0;
    while (writing || reads < 10) {
      const content = await store.getBuffer('hot/object');
      reads++;
      expect(content.length).toBe(size);
      const first = content.toString('latin1', 0, 1);
      expect(content.equals(Buffer.alloc(size, first))).toBe(true);
      seen.add(first);
    }
    await writer;

    expect(reads).toBeGreaterThan(10);
    expect([...seen].sort()).toEqual(['a', 'b']);
  });

  it('when a stream fails mid-write, then neither a partial object nor a temp file is left', async () => {
    const root = await freshRoot();
    const store = new FsObjectStore(root);
    const failing = Readable.from(
      (async function* broken() {
        yield Buffer.alloc(1024, 'x');
        await new Promise((resolve) => setTimeout(resolve, 5));
        throw new Error('upstream broke');
      })(),
    );

    await expect(store.put('batches/b-1/part-0', failing)).rejects.toThrow('upstream broke');

    await expect(store.get('batches/b-1/part-0')).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await fs.readdir(path.join(root, 'batches', 'b-1'))).toEqual([]);
  });

  it('when opened by file URI or plain path, then both address the same directory', async () => {
    const root = await freshRoot();
    const byPath = createObjectStore(root);
    const byUri = createObjectStore(`file://${root}`);
    await byPath.put('x/y.txt', 'same');

    expect(byUri.uri).toBe(byPath.uri);
    expect((await byUri.getBuffer('x/y.txt')).toString()).toBe('same');
    expect(await fs.readFile(path.join(root, 'x', 'y.txt'), 'utf8')).toBe('same');
  });
});

function* chunksOf(buf: Buffer, size: number): Generator<Buffer> {
  for (let off = 0; off < buf.length; off += size) yield buf.subarray(off, off + size);
}
