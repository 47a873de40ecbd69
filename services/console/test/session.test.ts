/**
 * The console's login guard through fastify's inject (no port, no stack): sessions in a signed,
 * httpOnly, SameSite=Strict cookie; 401 without one; the CSRF token and the admin role on every
 * request that changes something.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttp, type HttpServer } from '@tributary/runtime';
import { createLogger } from '@tributary/telemetry';
import { batchChanges } from '../src/domain/batch-changes.ts';
import { CSRF_HEADER, SESSION_COOKIE, registerSession } from '../src/entry-points/http/session.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';

async function app(ttlMs = 60_000): Promise<HttpServer> {
  // The console's server: routes validated by their zod schemas.
  const http = createHttp({
    service: 'console',
    area: 'CON',
    logger: createLogger({ serviceName: 'console', level: 'silent' }),
  });
  await http.register(async (scope) => {
    await registerSession(scope, {
      adminToken: ADMIN,
      viewerToken: VIEWER,
      secret: 'a-session-secret-of-at-least-32-characters',
      ttlMs,
      secureCookie: true,
    });
    scope.get('/api/things', () => ({ things: [] }));
    scope.post('/api/things', () => ({ done: true }));
  });
  await http.ready();
  return http;
}

let http: HttpServer;
beforeAll(async () => {
  http = await app();
});
afterAll(async () => {
  await http.close();
});

async function login(token: string, on = http) {
  const res = await on.inject({ method: 'POST', url: '/api/login', payload: { token } });
  const cookie = res.cookies.find((c) => c.name === SESSION_COOKIE);
  return { res, cookie, body: res.json<{ role: string; csrf: string }>() };
}

const code = (res: { json: () => unknown }) => (res.json() as { error: { code: string } }).error.code;

describe('console sessions', () => {
  it('when the login body is not {token: string}, then it answers 400 CON_ERR_BAD_REQUEST naming body.token', async () => {
    const res = await http.inject({ method: 'POST', url: '/api/login', payload: { token: 5 } });
    expect(res.statusCode).toBe(400);
    const { error } = res.json<{ error: { code: string; message: string; details: unknown } }>();
    expect(error.code).toBe('CON_ERR_BAD_REQUEST');
    expect(error.message).toMatch(/^body\.token: /);
    expect(error.details).toMatchObject({ issues: [{ in: 'body', field: 'token' }] });
  });

  it('when no session is sent, then the API answers 401', async () => {
    const res = await http.inject({ method: 'GET', url: '/api/things' });
    expect(res.statusCode).toBe(401);
    expect(code(res)).toBe('CON_ERR_UNAUTHENTICATED');
  });

  it('when a wrong token logs in, then it is refused and no cookie is set', async () => {
    const { res, cookie } = await login('not-a-token-0123456789abcdef');
    expect(res.statusCode).toBe(401);
    expect(code(res)).toBe('CON_ERR_BAD_TOKEN');
    expect(cookie).toBeUndefined();
  });

  it('when the admin token logs in, then the session cookie is signed, httpOnly, SameSite=Strict and Secure', async () => {
    const { res, cookie, body } = await login(ADMIN);
    expect(res.statusCode).toBe(200);
    expect(body.role).toBe('admin');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: true, path: '/' });
    expect(cookie!.value).not.toContain(ADMIN);
    const read = await http.inject({
      method: 'GET',
      url: '/api/things',
      cookies: { [SESSION_COOKIE]: cookie!.value },
    });
    expect(read.statusCode).toBe(200);
  });

  it('when a change comes without the CSRF token, then it is refused; with it, it passes', async () => {
    const { cookie, body } = await login(ADMIN);
    const cookies = { [SESSION_COOKIE]: cookie!.value };
    const without = await http.inject({ method: 'POST', url: '/api/things', cookies });
    expect(without.statusCode).toBe(403);
    expect(code(without)).toBe('CON_ERR_CSRF');
    const wrong = await http.inject({
      method: 'POST',
      url: '/api/things',
      cookies,
      headers: { [CSRF_HEADER]: `${body.csrf.slice(1)}x` },
    });
    expect(wrong.statusCode).toBe(403);
    const right = await http.inject({
      method: 'POST',
      url: '/api/things',
      cookies,
      headers: { [CSRF_HEADER]: body.csrf },
    });
    expect(right.statusCode).toBe(200);
  });

  it('when a viewer changes something, then it is refused even with its CSRF token', async () => {
    const { cookie, body } = await login(VIEWER);
    expect(body.role).toBe('viewer');
    const res = await http.inject({
      method: 'POST',
      url: '/api/things',
      cookies: { [SESSION_COOKIE]: cookie!.value },
      headers: { [CSRF_HEADER]: body.csrf },
    });
    expect(res.statusCode).toBe(403);
    expect(code(res)).toBe('CON_ERR_FORBIDDEN');
  });

  it('when the cookie is altered (a viewer made admin), then the signature fails and it is 401', async () => {
    const { cookie } = await login(VIEWER);
    const [value, signature] = cookie!.value.split('.');
    const session = JSON.parse(Buffer.from(value!, 'base64url').toString('utf8')) as { role: string };
    const forged = `${Buffer.from(JSON.stringify({ ...session, role: 'admin' })).toString('base64url')}.${signature}`;
    const res = await http.inject({
      method: 'GET',
      url: '/api/things',
      cookies: { [SESSION_COOKIE]: forged },
    });
    expect(res.statusCode).toBe(401);
  });

  it('when the session has expired, then it is 401', async () => {
    const expiring = await app(0);
    const { cookie } = await login(ADMIN, expiring);
    const res = await expiring.inject({
      method: 'GET',
      url: '/api/things',
      cookies: { [SESSION_COOKIE]: cookie!.value },
    });
    expect(res.statusCode).toBe(401);
    await expiring.close();
  });
});

describe('live batch changes', () => {
  it('when a batch is new or changed, then only it is pushed', () => {
    const first = batchChanges(new Map(), [{ batch_id: 'a', status: 'INGESTING' }]);
    expect(first.changed.map((b) => b.batch_id)).toEqual(['a']);
    const second = batchChanges(first.snapshot, [
      { batch_id: 'b', status: 'INGESTING' },
      { batch_id: 'a', status: 'INGESTING' },
    ]);
    expect(second.changed.map((b) => b.batch_id)).toEqual(['b']);
    const third = batchChanges(second.snapshot, [
      { batch_id: 'b', status: 'INGESTING' },
      { batch_id: 'a', status: 'QUARANTINED' },
    ]);
    expect(third.changed).toEqual([{ batch_id: 'a', status: 'QUARANTINED' }]);
  });
});
