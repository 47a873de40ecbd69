import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';

/** DVC 3's hash of a file: the MD5 of its bytes, and how many bytes there were. */
export interface FileHash {
  md5: string;
  size: number;
}

/** MD5 hex of bytes in memory (a string is hashed as UTF-8). */
export function md5Buffer(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex');
}

/** MD5 hex and size of a local file, streamed. */
export async function hashFile(path: string): Promise<FileHash> {
  const hash = createHash('md5');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { md5: hash.digest('hex'), size };
}

/** MD5 hex of a local file, streamed. */
export async function md5File(path: string): Promise<string> {
  return (await hashFile(path)).md5;
}

/**
 * A pass-through stream that hashes what flows through it, so a writer learns the DVC hash of
 * the bytes it writes without reading them back: `pipeline(source, tap, sink)`, then `tap.result`.
 */
export class Md5PassThrough extends Transform {
  private readonly hash = createHash('md5');
  private size = 0;
  private digest: string | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.digest = this.hash.digest('hex');
    callback();
  }

  /** MD5 and size of everything that passed; only known once the stream has ended. */
  get result(): FileHash {
    // A programmer's invariant: result is read once the pipeline finished.
    if (this.digest === undefined) throw new Error('Md5PassThrough.result read before the stream ended');
    return { md5: this.digest, size: this.size };
  }
}
