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
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${opts.method ?? 'GET'} ${path} answered ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}
