import { compareCodePoints } from '@tributary/storage';
import { md5Buffer } from './md5.ts';
import { invalid } from './invalid.ts';

/** One file of a tracked directory, as a `.dir` object lists it. */
export interface DirEntry {
  /** Path below the directory, posix separators. */
  relpath: string;
  md5: string;
  size: number;
}

/** A directory's DVC object: its hash (ending in `.dir`), totals, and the object's exact bytes. */
export interface DirObject {
  /** MD5 of `json` plus the `.dir` suffix: what a `.dvc` file records for the directory. */
  md5: string;
  size: number;
  nfiles: number;
  /** The `.dir` object's content (pure ASCII), stored under `md5` in caches and remotes. */
  json: string;
  /** The entries in DVC's order. */
  entries: DirEntry[];
}

/**
 * A JSON string literal as Python's `json.dumps` writes it with the default `ensure_ascii=True`:
 * everything outside printable ASCII (DEL included) becomes `\uXXXX` with lowercase hex, characters
 * beyond U+FFFF as their UTF-16 surrogate pair, and `/` stays unescaped.
 */
export function pythonJsonString(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit === 0x22) out += '\\"';
    else if (unit === 0x5c) out += '\\\\';
    else if (unit >= 0x20 && unit <= 0x7e) out += value[i];
    else if (unit === 0x0a) out += '\\n';
    else if (unit === 0x0d) out += '\\r';
    else if (unit === 0x09) out += '\\t';
    else if (unit === 0x08) out += '\\b';
    else if (unit === 0x0c) out += '\\f';
    else out += `\\u${unit.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

function assertRelpath(relpath: string): void {
  const segments = relpath.split('/');
  if (relpath.startsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw invalid(`Not a normalised relative posix path: '${relpath}'`);
  }
}

/** Entries in the order DVC lists them: by relpath, compared as whole strings ("a-b" < "a/b"). */
export function sortDirEntries<T extends { relpath: string }>(entries: readonly T[]): T[] {
  return [...entries].sort((a, b) => compareCodePoints(a.relpath, b.relpath));
}

/**
 * The exact bytes of a `.dir` object: `json.dumps(tree.as_list(), sort_keys=True)` in dvc-data,
 * i.e. a list of `{"md5": ..., "relpath": ...}` sorted by relpath, with Python's `", "` and `": "`
 * separators. Sizes are not part of it.
 */
export function dirObjectJson(entries: readonly Pick<DirEntry, 'relpath' | 'md5'>[]): string {
  const seen = new Set<string>();
  const items = sortDirEntries(entries).map((e) => {
    assertRelpath(e.relpath);
    if (seen.has(e.relpath)) throw invalid(`Duplicate relpath '${e.relpath}'`);
    seen.add(e.relpath);
    if (!/^[0-9a-f]{32}$/.test(e.md5)) throw invalid(`Not an md5 for '${e.relpath}': '${e.md5}'`);
    return `{"md5": ${pythonJsonString(e.md5)}, "relpath": ${pythonJsonString(e.relpath)}}`;
  });
  return `[${items.join(', ')}]`;
}

/**
 * Builds a directory's DVC object from entries whose md5s are already known (no file is read):
 * for writers that hash while they write.
 */
export function buildDirObject(entries: readonly DirEntry[]): DirObject {
  const json = dirObjectJson(entries);
  return {
    md5: `${md5Buffer(json)}.dir`,
    size: entries.reduce((sum, e) => sum + e.size, 0),
    nfiles: entries.length,
    json,
    entries: sortDirEntries(entries),
  };
}
