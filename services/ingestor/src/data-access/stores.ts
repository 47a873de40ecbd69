import {
  createObjectStore,
  objectUri,
  type ObjectStore,
  type ObjectStoreOptions,
  s3StoreOptions,
} from '@tributary/storage';
import type { Config } from '../config.ts';

/** The data store and, inside it, the DVC remote (`dvc/`): one bucket or folder for both. */
export function openStores(config: Config): {
  data: ObjectStore;
  dvcRemote: ObjectStore;
  options: ObjectStoreOptions;
} {
  const options = s3StoreOptions(config);
  const data = createObjectStore(config.DATA_STORE_URI, options);
  const dvcRemote = createObjectStore(objectUri(data, 'dvc'), options);
  return { data, dvcRemote, options };
}
