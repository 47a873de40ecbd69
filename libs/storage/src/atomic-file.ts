import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { TEMP_PREFIX } from './keys.ts';

/**
 * Writes `target` all-or-nothing: `write` fills a temp file in the same directory (so the rename
 * stays on one filesystem and is atomic), which is fsynced, renamed over `target`, and the
 * directory fsynced so the rename survives a crash. A reader opening `target` at any moment gets
 * the old content or the new, never a prefix of it.
 */
export async function writeFileAtomically<T>(
  target: string,
  write: (handle: FileHandle, tempPath: string) => Promise<T>,
): Promise<T> {
  const dir = path.dirname(target);
  await fs.mkdir(dir, { recursive: true });
  const tempPath = path.join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
  const handle = await fs.open(tempPath, 'wx');
  let result: T;
  try {
    try {
      result = await write(handle, tempPath);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tempPath, target);
  } catch (err) {
    await fs.rm(tempPath, { force: true });
    throw err;
  }
  await syncDirectory(dir);
  return result;
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    // Some platforms cannot open or fsync a directory; the rename itself is still atomic there.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw err;
  } finally {
    await handle?.close();
  }
}

/**
 * Copies a local file to `target` all-or-nothing (see writeFileAtomically). The copy is the
 * kernel's (copy_file_range, or a clone where the filesystem has them): no byte crosses into
 * JavaScript, about five times faster than streaming the file through.
 */
export async function copyFileAtomically(source: string, target: string): Promise<number> {
  return writeFileAtomically(target, async (handle, tempPath) => {
    // Into the temp file the handle holds open (same inode), which writeFileAtomically then fsyncs.
    await fs.copyFile(source, tempPath);
    return (await handle.stat()).size;
  });
}

/**
 * Puts another name on a stored file at `target`, all-or-nothing: a hard link to a temp name,
 * renamed over `target`. Only for files no one writes into once stored (every write of an object
 * store renames a new file into place), so the two names can share their bytes; about a thousand
 * times faster than a copy of a large file. The source was fsynced when it was stored. Across
 * filesystems, or where links are refused, it copies (copyFileAtomically).
 */
export async function linkOrCopyAtomically(source: string, target: string): Promise<number> {
  const dir = path.dirname(target);
  await fs.mkdir(dir, { recursive: true });
  const tempPath = path.join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
  try {
    await fs.link(source, tempPath);
  } catch (err) {
    if (!LINK_REFUSED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    return copyFileAtomically(source, target);
  }
  try {
    const { size } = await fs.stat(tempPath);
    await fs.rename(tempPath, target);
    await syncDirectory(dir);
    return size;
  } catch (err) {
    await fs.rm(tempPath, { force: true });
    throw err;
  }
}

/** Why a hard link may be refused where a copy works: across filesystems, or not supported there. */
const LINK_REFUSED = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'EACCES']);

/** Writes everything a stream yields into an open file handle (left open) and returns the byte count. */
export async function writeStreamTo(handle: FileHandle, body: Readable): Promise<number> {
  let size = 0;
  // A plain loop: awaiting each write is the backpressure, and the handle stays with the caller,
  // who still has to fsync and close it.
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    for (let offset = 0; offset < bytes.length;) {
      const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
      offset += bytesWritten;
    }
    size += bytes.length;
  }
  return size;
}

/**
 * Writes what `source` yields into `localPath` all-or-nothing (see writeFileAtomically), then
 * destroys the stream: a no-op once fully read, and it releases the file or connection behind it
 * if the write failed early.
 */
export async function writeStreamAtomically(localPath: string, source: Readable): Promise<void> {
  try {
    await writeFileAtomically(path.resolve(localPath), (handle) => writeStreamTo(handle, source));
  } finally {
    source.destroy();
  }
}
