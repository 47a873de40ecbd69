import type { ObjectStore } from './object-store.ts';

/** Where an object's bytes are: a local file path, the bytes themselves, or an object of a store. */
export type ObjectSource = string | Buffer | { store: ObjectStore; key: string };

/** Stores `source` under `key`: a local file is copied in, bytes are written, a stored object is copied. */
export async function putFrom(
  store: ObjectStore,
  key: string,
  source: ObjectSource,
): Promise<{ key: string; size: number }> {
  if (typeof source === 'string') return store.putFile(key, source);
  if (Buffer.isBuffer(source)) return store.put(key, source);
  return store.copyFrom(source.store, source.key, key);
}
