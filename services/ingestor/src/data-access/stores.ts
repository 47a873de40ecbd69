import { createObjectStore, objectUri, type ObjectStore, type ObjectStoreOptions } from '@tributary/storage';
import type { Config } from '../config.ts';

/** S3 client settings from the config; credentials fall back to the AWS SDK's default chain. */
export function s3Options(config: Config): ObjectStoreOptions {
  return {
    ...(config.S3_ENDPOINT === undefined ? {} : { endpoint: config.S3_ENDPOINT }),
    region: config.S3_REGION,
    ...(config.S3_FORCE_PATH_STYLE === undefined ? {} : { forcePathStyle: config.S3_FORCE_PATH_STYLE }),
    ...(config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY
      ? {
          credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY },
        }
      : {}),
  };
}

/** The data store and, inside it, the DVC remote (`dvc/`): one bucket or folder for both. */
export function openStores(config: Config): {
  data: ObjectStore;
  dvcRemote: ObjectStore;
  options: ObjectStoreOptions;
} {
  const options = s3Options(config);
  const data = createObjectStore(config.DATA_STORE_URI, options);
  const dvcRemote = createObjectStore(objectUri(data, 'dvc'), options);
  return { data, dvcRemote, options };
}
