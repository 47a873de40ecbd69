import { stackEnv } from './stack-env.ts';

/**
 * Client options for the stack's S3 service: its endpoint, path-style URLs and the test credentials.
 * Not frozen: the AWS SDK annotates the credentials object it is given.
 */
export const stackS3 = {
  endpoint: stackEnv.S3_ENDPOINT,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  forcePathStyle: true,
};

/** The same S3 service as the `S3_*` settings a service reads. */
export const stackS3Env = Object.freeze({
  S3_ENDPOINT: stackEnv.S3_ENDPOINT,
  S3_ACCESS_KEY_ID: 'test',
  S3_SECRET_ACCESS_KEY: 'test',
});
