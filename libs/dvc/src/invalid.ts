import { AppError } from '@tributary/errors';

/** A DVC file, md5, path or directory that DVC would not accept: DVC_ERR_INVALID, never retried. */
export function invalid(message: string): AppError {
  return new AppError('DVC_ERR_INVALID', message);
}
