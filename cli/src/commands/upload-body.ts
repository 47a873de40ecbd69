import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A file part of the upload: its path in the batch and where its bytes are. */
export interface UploadFile {
  path: string;
  absolute: string;
}

/** What streaming a file through the upload found: its sha256 and size. */
export interface Streamed {
  sha256: string;
  size: number;
}

/**
 * A multipart/form-data body (RFC 7578, the same header form as fetch's FormData) that streams the
 * files from disk and hashes each on the way, so every byte is read once and none is held whole:
 * the request pulls the next chunk only when the socket takes it (back-pressure). The fields come
 * after the files, because some (the manifest's checksums, the default batch id) are known only
 * once the files went through; the ingestor reads every part before it looks at the fields.
 */
export function streamingForm(
  files: readonly UploadFile[],
  fieldsAfter: (streamed: ReadonlyMap<string, Streamed>) => [name: string, value: string][],
): { body: Readable; contentType: string; streamed: Map<string, Streamed> } {
  const boundary = `----tributary${randomBytes(12).toString('hex')}`;
  const streamed = new Map<string, Streamed>();
  const crlf = Buffer.from('\r\n');
  async function* parts(): AsyncGenerator<Buffer> {
    for (const f of files) {
      yield Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${escapeName(f.path)}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      );
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of createReadStream(f.absolute)) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      streamed.set(f.path, { sha256: hash.digest('hex'), size });
      yield crlf;
    }
    for (const [name, value] of fieldsAfter(streamed)) {
      yield Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"\r\n\r\n${value.replace(/\r\n|\r|\n/g, '\r\n')}\r\n`,
      );
    }
    yield Buffer.from(`--${boundary}--\r\n`);
  }
  return {
    body: Readable.from(parts(), { objectMode: false }),
    contentType: `multipart/form-data; boundary=${boundary}`,
    streamed,
  };
}

/** Quotes in a part's name or filename, as the WHATWG FormData serialisation escapes them. */
function escapeName(name: string): string {
  return name.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
}

/**
 * POSTs a streamed body with node:http, whose pipeline waits for the socket before it reads on:
 * fetch (undici) drew a 234 MB upload into memory ahead of the socket. Connection failures are
 * thrown as fetch throws them (TypeError 'fetch failed' with the cause), so callers treat both alike.
 */
export async function postStream(
  url: string,
  body: Readable,
  contentType: string,
): Promise<{ status: number; text: string }> {
  const target = new URL(url);
  const request = (target.protocol === 'https:' ? https : http).request(target, {
    method: 'POST',
    headers: { 'content-type': contentType, 'transfer-encoding': 'chunked' },
  });
  const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
    request.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.once('error', reject);
    });
    request.once('error', reject);
  });
  try {
    // The server may answer (and close) before it read the whole body, e.g. a 413: its answer wins.
    const [sent, got] = await Promise.allSettled([pipeline(body, request), answered]);
    if (got.status === 'fulfilled') return got.value;
    throw sent.status === 'rejected' ? sent.reason : got.reason;
  } catch (err) {
    body.destroy();
    throw new TypeError('fetch failed', { cause: err });
  }
}
