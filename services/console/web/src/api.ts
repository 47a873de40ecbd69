import type { consoleApi } from '@tributary/api';

/** The console's own API (same origin; the session cookie goes along by itself). */

let csrfToken: string | undefined;

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export type SessionInfo = consoleApi.Session;

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== undefined) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const parsed: unknown = text === '' ? null : JSON.parse(text);
  if (!res.ok) {
    const err = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(res.status, err?.code ?? 'ERROR', err?.message ?? `${res.status} ${res.statusText}`);
  }
  return parsed as T;
}

export const api = {
  get: <T>(path: string) => call<T>('GET', path),
  post: <T>(path: string, body: unknown) => call<T>('POST', path, body),
  put: <T>(path: string, body: unknown) => call<T>('PUT', path, body),
};

export async function currentSession(): Promise<SessionInfo | undefined> {
  try {
    const s = await api.get<SessionInfo>('/api/session');
    csrfToken = s.csrf;
    return s;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return undefined;
    throw err;
  }
}

export async function login(token: string): Promise<SessionInfo> {
  const s = await api.post<SessionInfo>('/api/login', { token });
  csrfToken = s.csrf;
  return s;
}

export async function logout(): Promise<void> {
  await api.post('/api/logout', {});
  csrfToken = undefined;
}
