import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Md5PassThrough, hashFile, md5Buffer, md5File } from '../src/index.ts';
import { pseudoRandomBytes } from './fixtures.ts';

const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-md5-'));
afterAll(() => fs.rm(scratch, { recursive: true, force: true }));

describe('md5', () => {
  it('when content is known, then md5Buffer gives its standard MD5', () => {
    expect(md5Buffer('')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(md5Buffer(Buffer.from('hello\n'))).toBe('b1946ac92492d2347c6235b4d2611184');
  });

  it('when a file is hashed, then the streamed md5 and size match the bytes', async () => {
    const bytes = pseudoRandomBytes(3_000_001, 'file');
    const file = path.join(scratch, 'file.bin');
    await fs.writeFile(file, bytes);

    expect(await hashFile(file)).toEqual({ md5: md5Buffer(bytes), size: bytes.length });
    expect(await md5File(file)).toBe(md5Buffer(bytes));
  });

  it('when bytes flow through Md5PassThrough, then they pass unchanged and their hash is known at the end', async () => {
    const bytes = pseudoRandomBytes(1_000_000, 'tap');
    const tap = new Md5PassThrough();
    const received: Buffer[] = [];

    expect(() => tap.result).toThrow(/before the stream ended/);
    await pipeline(
      Readable.from([bytes.subarray(0, 12345), bytes.subarray(12345)]),
      tap,
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          received.push(chunk);
          cb();
        },
      }),
    );

    expect(Buffer.concat(received).equals(bytes)).toBe(true);
    expect(tap.result).toEqual({ md5: md5Buffer(bytes), size: bytes.length });
  });
});
