import { ObjectNotFoundError, objectUri, type ObjectStore } from '@tributary/storage';
import type { ArtifactStore } from '../domain/ports.ts';

/** Candidates and reports in the object store; answers the URI of what it wrote. */
export class ObjectArtifactStore implements ArtifactStore {
  private readonly store: ObjectStore;
  constructor(store: ObjectStore) {
    this.store = store;
  }

  async put(key: string, body: Buffer | string, tags?: Record<string, string>): Promise<string> {
    await this.store.put(key, body, {
      contentType: key.endsWith('.json') ? 'application/json' : 'application/x-ndjson',
      ...(tags === undefined ? {} : { metadata: tags }),
    });
    return objectUri(this.store, key);
  }

  /** The bytes of an artifact this store wrote, by its URI; undefined when gone or not of this store. */
  async read(uri: string): Promise<Buffer | undefined> {
    const root = `${this.store.uri.replace(/\/+$/, '')}/`;
    if (!uri.startsWith(root)) return undefined;
    try {
      return await this.store.getBuffer(decodeURIComponent(uri.slice(root.length)));
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
  }
}
