import { InvalidKeyError } from './errors.ts';

/**
 * Name prefix of the filesystem backend's in-flight temp files. Reserved so that a temp file can
 * never be mistaken for an object, nor an object overwrite one.
 */
export const TEMP_PREFIX = '.tributary-tmp-';

/**
 * Checks that `key` is a relative posix path with no `.`/`..`/empty segments, and returns it.
 * The same rule holds on every backend, so a key that works on the filesystem also works on S3
 * and the other way round.
 */
export function assertValidKey(key: string): string {
  if (key.length === 0) throw new InvalidKeyError(key, 'it is empty');
  if (key.includes('\0')) throw new InvalidKeyError(key, 'it contains a NUL character');
  if (key.includes('\\')) throw new InvalidKeyError(key, 'use "/" as the separator, not "\\"');
  if (key.startsWith('/')) throw new InvalidKeyError(key, 'it is absolute; keys are relative to the store');
  for (const segment of key.split('/')) {
    if (segment === '..') throw new InvalidKeyError(key, 'it escapes the store root with ".."');
    if (segment === '.' || segment === '') {
      throw new InvalidKeyError(key, 'it has an empty or "." segment; keys are normalised posix paths');
    }
    if (segment.startsWith(TEMP_PREFIX)) {
      throw new InvalidKeyError(key, `segments starting with "${TEMP_PREFIX}" are reserved`);
    }
  }
  return key;
}

/**
 * Checks a listing prefix: like a key, but it may be empty or end with "/" (S3 semantics: a plain
 * string prefix, so "batches/b-1" matches "batches/b-1/x" and "batches/b-10").
 */
export function assertValidPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
}

/**
 * Orders strings by Unicode code point, which is S3's (UTF-8 byte) order of keys and Python's `sorted`
 * order. JavaScript's default sort compares UTF-16 code units, which differs beyond U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.codePointAt(i) ?? 0;
    const cb = b.codePointAt(i) ?? 0;
    if (ca !== cb) return ca - cb;
    if (ca > 0xffff) i++;
  }
  return a.length - b.length;
}
