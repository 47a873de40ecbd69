import { createCipheriv, createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore, InvalidKeyError, ObjectNotFoundError, type ObjectStore } from '../src/index.ts';

/** Deterministic pseudo-random bytes (AES-CTR keystream), in 64 KiB chunks so nothing holds them all. */
export function pseudoRandomStream(totalBytes: number, seed: string): Readable {
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16));
  let produced = 0;
  return Readable.from(
    (function* chunks() {
      while (produced < totalBytes) {
        const chunk = cipher.update(Buffer.alloc(Math.min(64 * 1024, totalBytes - produced)));
        produced += chunk.length;
        yield chunk;
      }
    })(),
  );
}

/** MD5 and length of everything a stream yields. */
export async function digestStream(
  stream: AsyncIterable<Buffer | string>,
): Promise<{ md5: string; size: number }> {
  const hash = createHash('md5');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += Buffer.byteLength(chunk);
  }
  return { md5: hash.digest('hex'), size };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/**
 * The behaviour every ObjectStore backend must show. `open` returns a fresh, empty store.
 */
export function objectStoreContract(backend: string, open: () => Promise<ObjectStore>): void {
  describe(`ObjectStore contract: ${backend}`, () => {
    let store: ObjectStore;
    let scratch: string;

    beforeAll(async () => {
      store = await open();
      scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-storage-'));
    });
    afterAll(async () => {
      await fs.rm(scratch, { recursive: true, force: true });
    });

    it('when a multi-MB stream is put, then get streams back the same bytes', async () => {
      const size = 12 * 1024 * 1024 + 123;
      const expected = await digestStream(pseudoRandomStream(size, 'big'));

      const written = await store.put('big/stream.bin', pseudoRandomStream(size, 'big'));

      expect(written).toEqual({ key: 'big/stream.bin', size });
      expect(await digestStream(await store.get('big/stream.bin'))).toEqual(expected);
      expect((await store.head('big/stream.bin'))?.size).toBe(size);
    });

    it('when a buffer or a string is put, then getBuffer returns its bytes', async () => {
      await store.put('small/buffer.bin', Buffer.from([0, 1, 2, 255]));
      await store.put('small/text.json', '{"naïve": true}', { contentType: 'application/json' });

      expect(await store.getBuffer('small/buffer.bin')).toEqual(Buffer.from([0, 1, 2, 255]));
      expect((await store.getBuffer('small/text.json')).toString('utf8')).toBe('{"naïve": true}');
      expect((await store.head('small/text.json'))?.size).toBe(Buffer.byteLength('{"naïve": true}'));
    });

    it('when an object is put again, then the new content replaces the old', async () => {
      await store.put('replace/me.txt', 'first version');
      await store.put('replace/me.txt', 'second');

      expect((await store.getBuffer('replace/me.txt')).toString()).toBe('second');
      expect(await store.head('replace/me.txt')).toMatchObject({ size: 6 });
    });

    it('when a local file is put and downloaded, then the downloaded file is identical', async () => {
      const source = path.join(scratch, 'source.bin');
      const target = path.join(scratch, 'nested', 'dir', 'downloaded.bin');
      await fs.writeFile(source, await collectBuffer(pseudoRandomStream(3 * 1024 * 1024, 'file')));

      const written = await store.putFile('files/source.bin', source);
      await store.download('files/source.bin', target);

      expect(written).toEqual({ key: 'files/source.bin', size: 3 * 1024 * 1024 });
      // Buffer.equals: a deep toEqual over megabytes is needlessly slow.
      expect((await fs.readFile(target)).equals(await fs.readFile(source))).toBe(true);
    });

    it('when an object is copied within the store and from another store, then each copy has its bytes', async () => {
      const size = 6 * 1024 * 1024 + 7;
      const expected = await digestStream(pseudoRandomStream(size, 'copy'));
      await store.put('copy/source.bin', pseudoRandomStream(size, 'copy'));
      const other = await open(); // same backend, another root (S3: another bucket)
      const local = new FsObjectStore(path.join(scratch, 'other-backend'));
      await local.put('from-fs.bin', pseudoRandomStream(size, 'copy'));

      const within = await store.copyFrom(store, 'copy/source.bin', 'copy/within.bin');
      const across = await other.copyFrom(store, 'copy/source.bin', 'copied.bin');
      const fromFs = await store.copyFrom(local, 'from-fs.bin', 'copy/from-fs.bin');

      expect(within).toEqual({ key: 'copy/within.bin', size });
      expect(across).toEqual({ key: 'copied.bin', size });
      expect(fromFs).toEqual({ key: 'copy/from-fs.bin', size });
      for (const [s, key] of [
        [store, 'copy/within.bin'],
        [other, 'copied.bin'],
        [store, 'copy/from-fs.bin'],
        [store, 'copy/source.bin'],
      ] as const)
        expect(await digestStream(await s.get(key))).toEqual(expected);
    });

    it('when the source of a copy is replaced, then deleted, then the copy keeps the bytes it was copied with', async () => {
      await store.put('copy/kept-source.bin', 'first bytes');
      await store.copyFrom(store, 'copy/kept-source.bin', 'copy/kept.bin');

      await store.put('copy/kept-source.bin', 'second, longer bytes');
      expect((await store.getBuffer('copy/kept.bin')).toString()).toBe('first bytes');
      await store.copyFrom(store, 'copy/kept-source.bin', 'copy/kept.bin'); // over an existing copy
      await store.delete(['copy/kept-source.bin']);

      expect((await store.getBuffer('copy/kept.bin')).toString()).toBe('second, longer bytes');
    });

    it('when the source of a copy does not exist, then it rejects naming it and no object appears', async () => {
      await expect(store.copyFrom(store, 'copy/ghost', 'copy/ghost-copy')).rejects.toBeInstanceOf(
        ObjectNotFoundError,
      );

      expect(await store.exists('copy/ghost-copy')).toBe(false);
    });

    it('when the local file of putFile does not exist, then it rejects and no object appears', async () => {
      await expect(store.putFile('files/ghost', path.join(scratch, 'no-such-file'))).rejects.toMatchObject({
        code: 'ENOENT',
      });

      expect(await store.exists('files/ghost')).toBe(false);
    });

    it('when an empty object is put, then it exists with size 0', async () => {
      await store.put('empty/zero', Buffer.alloc(0));

      expect(await store.head('empty/zero')).toMatchObject({ size: 0 });
      expect(await store.getBuffer('empty/zero')).toEqual(Buffer.alloc(0));
    });

    it('when objects exist, then head and exists report them and nothing else', async () => {
      await store.put('probe/here', 'abc');

      expect(await store.head('probe/here')).toMatchObject({ size: 3 });
      expect(await store.exists('probe/here')).toBe(true);
      expect(await store.head('probe/absent')).toBeUndefined();
      expect(await store.exists('probe/absent')).toBe(false);
      // A key prefix is not an object.
      expect(await store.exists('probe')).toBe(false);
    });

    it('when listing by prefix, then exactly the keys starting with it come back in key order', async () => {
      const keys = ['ls/a/1', 'ls/a/2.txt', 'ls/a/sub/3', 'ls/a-b', 'ls/ab/4', 'ls/b/5', 'ls/é/6'];
      for (const key of [...keys].reverse()) await store.put(key, key);

      const under = (prefix: string) => collect(store.list(prefix));

      expect(await under('ls/a/')).toEqual([
        { key: 'ls/a/1', size: 6 },
        { key: 'ls/a/2.txt', size: 10 },
        { key: 'ls/a/sub/3', size: 10 },
      ]);
      expect((await under('ls/a')).map((o) => o.key)).toEqual([
        'ls/a-b',
        'ls/a/1',
        'ls/a/2.txt',
        'ls/a/sub/3',
        'ls/ab/4',
      ]);
      expect((await under('ls/')).map((o) => o.key)).toEqual([
        'ls/a-b',
        'ls/a/1',
        'ls/a/2.txt',
        'ls/a/sub/3',
        'ls/ab/4',
        'ls/b/5',
        'ls/é/6',
      ]);
      expect(await under('ls/none/')).toEqual([]);
      expect((await collect(store.list())).map((o) => o.key)).toEqual(expect.arrayContaining(keys));
    });

    it('when objects are deleted, then they are gone and missing keys are ignored', async () => {
      await store.put('del/1', 'x');
      await store.put('del/2', 'y');
      await store.put('del/keep', 'z');

      await store.delete(['del/1', 'del/2', 'del/never-existed']);
      await store.delete([]);

      expect(await store.exists('del/1')).toBe(false);
      expect(await store.exists('del/2')).toBe(false);
      expect((await collect(store.list('del/'))).map((o) => o.key)).toEqual(['del/keep']);
    });

    it('when a key does not exist, then reads reject with ObjectNotFoundError naming it', async () => {
      const errors = [
        await rejection(store.get('missing/object')),
        await rejection(store.getBuffer('missing/object')),
        await rejection(store.download('missing/object', path.join(scratch, 'never'))),
      ];

      for (const err of errors) {
        expect(err).toBeInstanceOf(ObjectNotFoundError);
        expect((err as ObjectNotFoundError).key).toBe('missing/object');
        expect((err as ObjectNotFoundError).code).toBe('STORAGE_ERR_NOT_FOUND');
      }
      await expect(fs.access(path.join(scratch, 'never'))).rejects.toThrow();
    });

    it('when a key escapes the root or is not a clean posix path, then it is rejected before any I/O', async () => {
      const bad = ['../outside', 'a/../../outside', 'a/..', '/etc/passwd', 'a//b', './a', 'a/', '', 'a\\b'];

      for (const key of bad) {
        const err = await rejection(store.put(key, 'nope'));
        expect(err, key).toBeInstanceOf(InvalidKeyError);
        expect((err as InvalidKeyError).key).toBe(key);
        await expect(store.get(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.head(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.delete([key])).rejects.toBeInstanceOf(InvalidKeyError);
      }
      await expect(collect(store.list('../'))).rejects.toBeInstanceOf(InvalidKeyError);
    });
  });
}

async function collectBuffer(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}
