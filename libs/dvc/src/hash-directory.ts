import fs from 'node:fs/promises';
import path from 'node:path';
import pMap from 'p-map';
import { buildDirObject, type DirObject, type DirEntry } from './dir-object.ts';
import { hashFile } from './md5.ts';
import { invalid } from './invalid.ts';

/** A directory hashed as `dvc add` hashes it. `entries` carry each file's md5 and size. */
export type DirHash = DirObject;

/** Options of `hashDirectory`. */
export interface HashDirectoryOptions {
  /** Files hashed in parallel (default 8). */
  concurrency?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Hashes a local directory the way DVC 3 does on `dvc add`: every regular file below it (symlinks
 * to files followed, symlinks to directories not descended, as Python's `os.walk` does), minus what
 * DVC always ignores (`.git`, `.hg/`, `.dvc/`, and nested DVC repos). Empty directories leave no
 * trace. A `.dvcignore` inside the directory is refused, as DVC refuses it.
 */
export async function hashDirectory(dir: string, opts: HashDirectoryOptions = {}): Promise<DirHash> {
  const root = path.resolve(dir);
  const files: { relpath: string; absolute: string }[] = [];
  await collectFiles(root, '', files);
  const entries = await pMap(
    files,
    async (file): Promise<DirEntry> => {
      const { md5, size } = await hashFile(file.absolute);
      return { relpath: file.relpath, md5, size };
    },
    { concurrency: opts.concurrency ?? 8 },
  );
  return buildDirObject(entries);
}

async function collectFiles(
  absolute: string,
  relDir: string,
  out: { relpath: string; absolute: string }[],
): Promise<void> {
  // Raw names, so a name that is not UTF-8 is reported instead of silently becoming U+FFFD.
  const rawNames = await fs.readdir(absolute, { encoding: 'buffer' });
  const names = rawNames.map((raw) => {
    try {
      return utf8.decode(raw);
    } catch {
      throw invalid(`File name is not UTF-8 in ${absolute}: ${raw.toString('hex')} (hex)`);
    }
  });
  if (names.includes('.dvcignore')) {
    throw invalid(`.dvcignore cannot be inside a directory tracked by DVC: ${absolute}`);
  }
  for (const name of names) {
    const child = path.join(absolute, name);
    const relpath = relDir === '' ? name : `${relDir}/${name}`;
    if (name === '.git') continue;
    const link = await fs.lstat(child);
    const stat = link.isSymbolicLink() ? await fs.stat(child) : link;
    if (stat.isDirectory()) {
      if (name === '.hg' || name === '.dvc' || link.isSymbolicLink()) continue;
      if (await isDvcRepo(child)) continue;
      await collectFiles(child, relpath, out);
    } else if (stat.isFile()) {
      out.push({ relpath, absolute: child });
    } else {
      throw invalid(`Not a regular file or directory, DVC cannot track it: ${child}`);
    }
  }
}

/** A directory holding a `.dvc/` directory is a nested DVC repo, which DVC leaves out. */
async function isDvcRepo(dir: string): Promise<boolean> {
  try {
    return (await fs.stat(path.join(dir, '.dvc'))).isDirectory();
  } catch {
    return false;
  }
}
