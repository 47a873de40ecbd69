import { objectUri, type ObjectStore } from '@tributary/storage';
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
}
