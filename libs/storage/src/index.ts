export type { ListedObject, ObjectBody, ObjectInfo, ObjectStore, PutOptions } from './object-store.ts';
export { createObjectStore, objectUri, type ObjectStoreOptions } from './create.ts';
export { FsObjectStore } from './fs-store.ts';
export { putFrom, type ObjectSource } from './put-from.ts';
export { S3ObjectStore, createS3Client, type S3StoreOptions } from './s3-store.ts';
export { InvalidKeyError, ObjectNotFoundError } from './errors.ts';
export { assertValidKey, compareCodePoints } from './keys.ts';
export { s3StoreOptions, type S3Settings } from './settings.ts';
