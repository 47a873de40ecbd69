import Fastify from 'fastify';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { AppError, isErrorCode } from '@tributary/errors';
import { createLogger } from '@tributary/telemetry';
import { installErrorHandling, parseRequest, registerAdminRoutes } from '../src/index.ts';

const logger = createLogger({ serviceName: 'errors-test', level: 'silent' });
const logError = vi.spyOn(logger, 'error');

/** A server as a service has it: the one error handling, an admin scope, routes that fail in each way. */
function server() {
  const http = Fastify({ logger: false, bodyLimit: 1024 });
  installErrorHandling(http, { area: 'PRE', logger });
  http.get('/app-error', () => {
    throw new AppError('PRE_ERR_UNKNOWN_BATCH', 'no batch b-1', { details: { batch_id: 'b-1' } });
  });
  http.get('/retriable', () => {
    throw new AppError('LOCK_ERR_TIMEOUT', 'lock busy');
  });
  http.get('/bug', () => {
    const missing = undefined as unknown as { id: string };
    return missing.id;
  });
  http.post('/echo', (req) => req.body);
  http.get('/query', (req, reply) => {
    const query = parseRequest('PRE', z.object({ limit: z.coerce.number().int().min(1) }), req.query, reply);
    return query ?? reply;
  });
  registerAdminRoutes(http, { token: 'secret', area: 'PRE' }, (admin) => {
    admin.get('/thing', () => {
      throw new AppError('PRE_ERR_UNKNOWN_VERSION', 'no version 9');
    });
  });
  return http;
}

describe('HTTP error handling', () => {
  const http = server();
  afterAll(() => http.close());

  it.each([
    ['an AppError', { method: 'GET', url: '/app-error' }, 404, 'PRE_ERR_UNKNOWN_BATCH'],
    ['a retriable AppError', { method: 'GET', url: '/retriable' }, 503, 'LOCK_ERR_TIMEOUT'],
    ['a programmer error', { method: 'GET', url: '/bug' }, 500, 'APP_ERR_PROGRAMMER'],
    ['an unknown route', { method: 'GET', url: '/nowhere' }, 404, 'PRE_ERR_NOT_FOUND'],
    [
      'malformed JSON',
      { method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '{"a":' },
      400,
      'PRE_ERR_BAD_REQUEST',
    ],
    [
      'a body over the limit',
      {
        method: 'POST',
        url: '/echo',
        headers: { 'content-type': 'application/json' },
        payload: `"${'x'.repeat(2000)}"`,
      },
      413,
      'PRE_ERR_BAD_REQUEST',
    ],
    [
      'an unsupported media type',
      { method: 'POST', url: '/echo', headers: { 'content-type': 'application/x-nothing' }, payload: 'x' },
      415,
      'PRE_ERR_BAD_REQUEST',
    ],
    ['a query that fails its schema', { method: 'GET', url: '/query?limit=0' }, 400, 'PRE_ERR_BAD_REQUEST'],
    ['an admin route without the token', { method: 'GET', url: '/admin/thing' }, 401, 'PRE_ERR_UNAUTHORIZED'],
    [
      'an admin route that throws',
      { method: 'GET', url: '/admin/thing', headers: { authorization: 'Bearer secret' } },
      404,
      'PRE_ERR_UNKNOWN_VERSION',
    ],
  ] as const)(
    'when a request meets %s, then it is answered %i with the one body shape and code %s',
    async (_what, req, status, code) => {
      const res = await http.inject(req);
      expect(res.statusCode).toBe(status);
      const body = res.json<{ error: { code: string; message: string } }>();
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error.code).toBe(code);
      expect(isErrorCode(body.error.code)).toBe(true);
      expect(body.error.message).toEqual(expect.any(String));
    },
  );

  it('when an AppError has details, then the body carries them', async () => {
    const res = await http.inject({ method: 'GET', url: '/app-error' });
    expect(res.json()).toEqual({
      error: { code: 'PRE_ERR_UNKNOWN_BATCH', message: 'no batch b-1', details: { batch_id: 'b-1' } },
    });
  });

  it('when a route fails with a 5xx, then the failure is logged with its code; a 4xx is not', async () => {
    logError.mockClear();
    await http.inject({ method: 'GET', url: '/app-error' });
    expect(logError).not.toHaveBeenCalled();
    await http.inject({ method: 'GET', url: '/bug' });
    expect(logError.mock.calls).toEqual([
      [expect.objectContaining({ code: 'APP_ERR_PROGRAMMER', url: '/bug' }), 'request failed'],
    ]);
  });
});
