import type { S3StoreOptions } from './s3-store.ts';

/** The S3 settings services read from their environment (`s3Env` in @tributary/config). */
export interface S3Settings {
  S3_ENDPOINT?: string | undefined;
  S3_REGION: string;
  S3_FORCE_PATH_STYLE?: boolean | undefined;
  S3_ACCESS_KEY_ID?: string | undefined;
  S3_SECRET_ACCESS_KEY?: string | undefined;
}

/** Store options from the settings; without a key pair, credentials come from the AWS SDK's default chain. */
export function s3StoreOptions(settings: S3Settings): S3StoreOptions {
  return {
    ...(settings.S3_ENDPOINT ? { endpoint: settings.S3_ENDPOINT } : {}),
    region: settings.S3_REGION,
    ...(settings.S3_FORCE_PATH_STYLE === undefined ? {} : { forcePathStyle: settings.S3_FORCE_PATH_STYLE }),
    ...(settings.S3_ACCESS_KEY_ID && settings.S3_SECRET_ACCESS_KEY
      ? {
          credentials: {
            accessKeyId: settings.S3_ACCESS_KEY_ID,
            secretAccessKey: settings.S3_SECRET_ACCESS_KEY,
          },
        }
      : {}),
  };
}
