import { timingSafeEqual } from 'node:crypto';

/** What a login may do: `admin` reads and acts (replay, threshold change), `viewer` only reads. */
export type Role = 'admin' | 'viewer';

/** The content of the signed session cookie. */
export interface Session {
  role: Role;
  /** The CSRF token every state-changing request of this session must echo in a header. */
  csrf: string;
  /** Epoch ms after which the session is refused. */
  expiresAt: number;
}

/** The role a login token gives, compared in constant time; undefined for a wrong token. */
export function roleOf(
  token: string,
  tokens: { admin: string; viewer?: string | undefined },
): Role | undefined {
  if (sameSecret(token, tokens.admin)) return 'admin';
  if (tokens.viewer !== undefined && sameSecret(token, tokens.viewer)) return 'viewer';
  return undefined;
}

export function newSession(role: Role, csrf: string, now: number, ttlMs: number): Session {
  return { role, csrf, expiresAt: now + ttlMs };
}

export function encodeSession(s: Session): string {
  return Buffer.from(JSON.stringify(s)).toString('base64url');
}

/** A session read back from its (already signature-checked) cookie value; undefined when malformed or expired. */
export function decodeSession(value: string, now: number): Session | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const s = parsed as Partial<Session>;
  if (s.role !== 'admin' && s.role !== 'viewer') return undefined;
  if (typeof s.csrf !== 'string' || s.csrf.length < 16) return undefined;
  if (typeof s.expiresAt !== 'number' || s.expiresAt <= now) return undefined;
  return { role: s.role, csrf: s.csrf, expiresAt: s.expiresAt };
}

/** Whether a request's CSRF header is the session's token (constant time). */
export function csrfMatches(session: Session, header: unknown): boolean {
  return typeof header === 'string' && sameSecret(header, session.csrf);
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
