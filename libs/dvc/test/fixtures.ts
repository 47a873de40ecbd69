import { createCipheriv, createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Deterministic pseudo-random bytes. */
export function pseudoRandomBytes(size: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/**
 * Files that exercise every rule of DVC's directory hashing: nesting, an empty file, spaces,
 * non-ASCII names (one beyond U+FFFF next to one just below it, which JavaScript and Python sort
 * differently), "-" sorting before "/", characters JSON must escape, and content DVC ignores.
 */
export const TRICKY_FILES: ReadonlyArray<readonly [relpath: string, content: Buffer | string]> = [
  ['a.txt', 'hello\n'],
  ['empty', ''],
  ['with space.txt', 'spaced out\n'],
  ['ünïcødé.txt', 'unicode\n'],
  ['日本語/データ.csv', 'id,value\n1,2\n'],
  ['emoji/😀.bin', 'astral\n'],
  ['emoji/～.bin', 'fullwidth tilde, U+FF5E\n'],
  ['sub-x', 'sorts before sub/\n'],
  ['sub/a-b', 'nested\n'],
  ['sub/deeper/still/Z', 'deep\n'],
  ['sub/deeper/still/big.bin', pseudoRandomBytes(1_500_000, 'big')],
  ['quote"and\\backslash.txt', 'escapes\n'],
  ['tab\there', 'tab\n'],
  ['del\u007fchar', 'DEL is escaped by Python json\n'],
  ['B', 'upper case sorts first\n'],
  ['same-content-1', 'duplicate\n'],
  ['same-content-2', 'duplicate\n'],
];

/** Content DVC leaves out of a directory's hash. */
export const IGNORED_FILES: ReadonlyArray<readonly [relpath: string, content: string]> = [
  ['.git/config', '[core]\n'],
  ['sub/.hg/store', 'mercurial\n'],
];

/** Writes `files` below `dir`. */
export async function writeFiles(
  dir: string,
  files: ReadonlyArray<readonly [string, Buffer | string]>,
): Promise<void> {
  for (const [relpath, content] of files) {
    const target = path.join(dir, ...relpath.split('/'));
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, content);
  }
}
