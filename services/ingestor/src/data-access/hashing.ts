import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { FILE_HEAD_BYTES } from '@tributary/contracts';

/**
 * A pass-through that hashes what flows through it (sha256 for the batch declaration, md5 for DVC)
 * and counts bytes, so a file is read once however many digests it needs. `limit` fails the
 * stream as soon as more bytes than allowed went through. It keeps the first bytes too, which tell
 * the role of a file its producer named none.
 */
export class HashingPassThrough extends Transform {
  private readonly sha = createHash('sha256');
  private readonly md5: Hash | undefined;
  private bytes = 0;
  private readonly headChunks: Buffer[] = [];
  private headBytes = 0;
  private digests: { sha256: string; md5: string } | undefined;
  private readonly opts: { md5?: boolean; limit?: { bytes: number; error: () => Error } };

  constructor(opts: { md5?: boolean; limit?: { bytes: number; error: () => Error } } = {}) {
    super();
    this.opts = opts;
    this.md5 = opts.md5 === false ? undefined : createHash('md5');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    const limit = this.opts.limit;
    if (limit && this.bytes > limit.bytes) {
      callback(limit.error());
      return;
    }
    if (this.headBytes < FILE_HEAD_BYTES) {
      const part = chunk.subarray(0, FILE_HEAD_BYTES - this.headBytes);
      this.headChunks.push(Buffer.from(part));
      this.headBytes += part.length;
    }
    this.sha.update(chunk);
    this.md5?.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.digests = { sha256: this.sha.digest('hex'), md5: this.md5?.digest('hex') ?? '' };
    callback();
  }

  /** Digests and size of everything that passed; known once the stream ended. */
  get result(): { sha256: string; md5: string; size: number } {
    // A programmer's invariant: result is read once the pipeline finished.
    if (!this.digests) throw new Error('HashingPassThrough.result read before the stream ended');
    return { ...this.digests, size: this.bytes };
  }

  /** The first FILE_HEAD_BYTES bytes that passed (fewer for a smaller file). */
  get head(): Buffer {
    return Buffer.concat(this.headChunks);
  }

  get size(): number {
    return this.bytes;
  }
}
