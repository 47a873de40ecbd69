export { AppError, isAppError, isProgrammerError, toAppError, type AppErrorOptions } from './app-error.ts';
export { errorBody, parseErrorBody, type ErrorBody } from './body.ts';
export { AREAS, ERRORS, isErrorCode, type AreaWith, type ErrorCode, type ErrorSpec } from './catalog.ts';
export { classifyPgError, pgToAppError, type PgErrorKind } from './classify.ts';
export { ConnectionRefusedError, certificateError, untrustedCertificate } from './connection.ts';
