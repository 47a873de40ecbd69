import { parseErrorBody } from '@tributary/errors';

/**
 * Calls a service's admin API. The base URL and token come from flags or the environment
 * (TRIBUTARY_<SERVICE>_URL, TRIBUTARY_ADMIN_TOKEN), read by the commands that need them.
 */
export async function adminRequest<T>(
  baseUrl: string,
  path: string,
  opts: { method?: string; token?: string | undefined; body?: unknown } = {},
): Promise<T> {
  const res = await fetch(`${baseUrl.replace(/\/$/, '')}${path}`, {
    method: opts.method ?? 'GET',
    headers: {
      ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
    },
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  }).catch((err: unknown) => {
    // fetch only says 'fetch failed'; the cause names the problem (ECONNREFUSED, ENOTFOUND...).
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    throw new Error(`cannot reach ${baseUrl}: ${cause}`);
  });
  const text = await res.text();
  if (!res.ok)
    throw new AdminRequestError(
      `${opts.method ?? 'GET'} ${path} answered ${res.status}: ${describeErrorBody(text)}`,
      res.status,
      text,
    );
  return (text ? JSON.parse(text) : undefined) as T;
}

/** `CODE: message` of a service's error body, or the body as it is when it is not one. */
export function describeErrorBody(text: string): string {
  const error = parseErrorBody(text);
  return error ? `${error.code}: ${error.message}` : text;
}

/** A refusal of the admin API, with its status and body (parsed when it is JSON). */
export class AdminRequestError extends Error {
  readonly body: unknown;
  readonly status: number;

  constructor(message: string, status: number, text: string) {
    super(message);
    this.status = status;
    this.name = 'AdminRequestError';
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    this.body = body;
  }
}
