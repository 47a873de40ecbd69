import { AppError } from '@tributary/errors';

/** The object a caller asked for does not exist; thrown alike by every backend. */
export class ObjectNotFoundError extends AppError {
  readonly key: string;

  constructor(key: string, storeUri: string, cause?: unknown) {
    super('STORAGE_ERR_NOT_FOUND', `No object '${key}' in ${storeUri}`, {
      retriable: false,
      cause,
      details: { key, store: storeUri },
    });
    this.name = 'ObjectNotFoundError';
    this.key = key;
  }
}

/**
 * A key that is not a clean relative posix path. Rejected before any I/O so that a key built from
 * untrusted input (a batch id, a file name) can never reach outside the store's root.
 */
export class InvalidKeyError extends AppError {
  readonly key: string;

  constructor(key: string, reason: string) {
    super('STORAGE_ERR_INVALID_KEY', `Invalid object key '${key}': ${reason}`, {
      retriable: false,
      details: { key, reason },
    });
    this.name = 'InvalidKeyError';
    this.key = key;
  }
}
