export { AppError, isAppError, toAppError } from './app-error.ts';
export { classifyPgError, pgToAppError, type PgErrorKind } from './classify.ts';
export { ConnectionRefusedError, certificateError, untrustedCertificate } from './connection.ts';
