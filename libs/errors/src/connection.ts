import { AppError } from './app-error.ts';

/** Node's codes for a server certificate the client does not accept. */
const CERTIFICATE_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function codeOf(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** The error or one of its causes that carries a certificate code, if any. */
export function certificateError(err: unknown): Error | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = codeOf(e);
    if (code !== undefined && CERTIFICATE_CODES.has(code)) return e;
  }
  return undefined;
}

/**
 * A start-up failure to reach a server the service cannot get past by waiting: a refused password
 * or an untrusted certificate. The message says which server, what was refused and which setting
 * to fix; runMain prints it without a stack and the process exits 1.
 */
export class ConnectionRefusedError extends AppError {
  readonly server: string;
  readonly problem: 'authentication' | 'certificate' | 'refused';
  constructor(
    server: string,
    problem: 'authentication' | 'certificate' | 'refused',
    message: string,
    cause?: unknown,
  ) {
    super(problem === 'certificate' ? 'CONN_ERR_TLS' : 'CONN_ERR_AUTH', message, {
      retriable: false,
      cause,
    });
    this.server = server;
    this.problem = problem;
    this.name = 'ConnectionRefusedError';
  }
}

/** For an untrusted certificate: `<server>: certificate not trusted (<reason>); check <setting>`. */
export function untrustedCertificate(server: string, err: Error, setting: string): ConnectionRefusedError {
  // OpenSSL's reason alone: Node 24 appends advice about --use-system-ca, which is not how a
  // Tributary service is given its CA.
  const openssl = err.message.split(';')[0] ?? err.message;
  const reason =
    codeOf(err) === 'ERR_TLS_CERT_ALTNAME_INVALID' ? `it does not name the host: ${err.message}` : openssl;
  return new ConnectionRefusedError(
    server,
    'certificate',
    `${server}: certificate not trusted (${reason}); check ${setting}`,
    err,
  );
}
