import { randomBytes } from 'node:crypto';
import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, type ErrorCode } from '@tributary/errors';
import { parseRequest, sendError } from '@tributary/runtime';
import {
  csrfMatches,
  decodeSession,
  encodeSession,
  newSession,
  roleOf,
  type Session,
} from '../../domain/session.ts';

export interface SessionOptions {
  adminToken: string;
  viewerToken: string | undefined;
  secret: string;
  ttlMs: number;
  secureCookie: boolean;
}

/** Name of the session cookie (httpOnly, SameSite=Strict, signed). */
export const SESSION_COOKIE = 'tributary_console';
/** Header a state-changing request must carry: the session's CSRF token. */
export const CSRF_HEADER = 'x-csrf-token';

const sessions = new WeakMap<FastifyRequest, Session>();
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const PUBLIC_API = new Set(['/api/login', '/api/session', '/api/logout']);
const loginBody = z.object({ token: z.string().min(1, 'the token is required') });

/** The session of a request that passed the API guard. */
export function sessionOf(req: FastifyRequest): Session {
  const session = sessions.get(req);
  // A programmer's invariant: the guard runs before every /api route that reads the session.
  if (!session) throw new Error('sessionOf called on a request without a session');
  return session;
}

/**
 * Login, logout and the guard of every `/api` route: no valid session is 401; a request that
 * changes something (any method but GET/HEAD/OPTIONS) needs the session's CSRF token in
 * `X-CSRF-Token` (403 without it) and the admin role (403 for a viewer).
 */
export async function registerSession(scope: FastifyInstance, opts: SessionOptions): Promise<void> {
  await scope.register(cookie, { secret: opts.secret });
  const cookieOptions = {
    httpOnly: true,
    sameSite: 'strict',
    secure: opts.secureCookie,
    path: '/',
    signed: true,
  } as const;

  const read = (req: FastifyRequest): Session | undefined => {
    const raw = req.cookies[SESSION_COOKIE];
    if (raw === undefined) return undefined;
    const unsigned = req.unsignCookie(raw);
    return unsigned.valid && unsigned.value !== null ? decodeSession(unsigned.value, Date.now()) : undefined;
  };

  scope.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    if (!path.startsWith('/api/') || PUBLIC_API.has(path)) return;
    const session = read(req);
    if (!session) return deny(reply, 'CON_ERR_UNAUTHENTICATED', 'log in first');
    if (!SAFE_METHODS.has(req.method)) {
      if (!csrfMatches(session, req.headers[CSRF_HEADER])) {
        return deny(reply, 'CON_ERR_CSRF', `a valid ${CSRF_HEADER} header is required for this action`);
      }
      if (session.role !== 'admin') {
        return deny(reply, 'CON_ERR_FORBIDDEN', 'this action needs the admin role');
      }
    }
    sessions.set(req, session);
  });

  scope.post('/api/login', async (req, reply) => {
    const body = parseRequest('CON', loginBody, req.body ?? {}, reply);
    if (!body) return reply;
    const role = roleOf(body.token, { admin: opts.adminToken, viewer: opts.viewerToken });
    if (!role) return deny(reply, 'CON_ERR_BAD_TOKEN', 'this token is not the admin or viewer token');
    const session = newSession(role, randomBytes(24).toString('base64url'), Date.now(), opts.ttlMs);
    void reply.setCookie(SESSION_COOKIE, encodeSession(session), {
      ...cookieOptions,
      maxAge: Math.floor(opts.ttlMs / 1000),
    });
    return { role: session.role, csrf: session.csrf, expiresAt: new Date(session.expiresAt).toISOString() };
  });

  scope.get('/api/session', async (req, reply) => {
    const session = read(req);
    if (!session) return deny(reply, 'CON_ERR_UNAUTHENTICATED', 'log in first');
    return { role: session.role, csrf: session.csrf, expiresAt: new Date(session.expiresAt).toISOString() };
  });

  scope.post('/api/logout', async (_req, reply) => {
    void reply.clearCookie(SESSION_COOKIE, cookieOptions);
    return { ok: true };
  });
}

function deny(reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  return sendError(reply, new AppError(code, message));
}
