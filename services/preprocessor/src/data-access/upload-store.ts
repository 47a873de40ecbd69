import { readFile } from 'node:fs/promises';
import { AppError } from '@tributary/errors';
import type { DryRunFile } from '../domain/dry-run.ts';
import type { DataStore } from '../domain/ports.ts';
import { readLocalHead } from './local-head.ts';

/** The upload as the validation reads a raw batch: read-only; what it would store is dropped. */
export function uploadStore(files: ReadonlyMap<string, DryRunFile>): DataStore {
  const unsupported = (what: string) => () => {
    // A programmer's invariant: the dry run's use case never writes.
    throw new Error(`a dry run does not ${what}`);
  };
  return {
    uri: 'dry-run:',
    rawPrefixOf: () => 'upload',
    localCopy: (key) => {
      const f = files.get(key);
      if (!f) throw new AppError('PRE_ERR_TABLE_MISSING', `${key} is not in the upload`);
      return Promise.resolve(f.localPath);
    },
    read: async (key) => {
      const f = files.get(key);
      return f ? readFile(f.localPath) : undefined;
    },
    readHead: readLocalHead,
    putDvcObject: () => Promise.resolve(),
    localDvcObject: unsupported('read DVC objects'),
    deleteDvcObjects: unsupported('delete objects'),
    put: unsupported('store objects'),
    uriOf: (key) => `dry-run:${key}`,
  };
}
