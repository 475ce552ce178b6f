/**
 * Panel sessions, kept in the server's memory: a random 256-bit token in an HttpOnly cookie names one,
 * and only the token's SHA-256 is kept, so the map holds nothing a caller could present. Each session has
 * its own CSRF token, sent back in the `X-CSRF-Token` header of every state-changing request.
 *
 * A session ends on logout, after `idleMs` without a request, `maxAgeMs` after login, and as soon as its
 * account is removed or gets a new password (the session remembers a fingerprint of the password hash and
 * the account is read again on every request). Behind several server instances, sessions need sticky
 * routing; a restart logs everyone out.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Session {
  username: string;
  csrfToken: string;
  /** SHA-256 of the account's password hash at login. */
  passwordFingerprint: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface SessionOptions {
  idleMs: number;
  maxAgeMs: number;
  /** Sessions kept at most; the least recently used go first. */
  max: number;
}

export interface Sessions {
  /** Answers the cookie token (to set) and the session. */
  create(username: string, passwordHash: string, now: number): { token: string; session: Session };
  /** The live session of a token, touched; undefined when unknown or expired. */
  get(token: string | undefined, now: number): Session | undefined;
  delete(token: string | undefined): void;
  /** Ends every session of an account, except the one of `keep`. */
  endAll(username: string, keep?: Session): void;
  readonly size: number;
}

export function fingerprint(passwordHash: string): string {
  return createHash('sha256').update(passwordHash).digest('base64url');
}

export function createSessions(o: SessionOptions): Sessions {
  // A Map keeps insertion order: re-inserting on every use makes the first entry the least recently used.
  const byHash = new Map<string, Session>();
  const hash = (token: string) => createHash('sha256').update(token).digest('base64url');

  return {
    create(username, passwordHash, now) {
      const token = randomBytes(32).toString('base64url');
      const session: Session = { username, csrfToken: randomBytes(32).toString('base64url'), passwordFingerprint: fingerprint(passwordHash), createdAt: now, lastSeenAt: now };
      byHash.set(hash(token), session);
      while (byHash.size > o.max) byHash.delete(byHash.keys().next().value as string);
      return { token, session };
    },
    get(token, now) {
      if (!token || token.length > 100) return undefined;
      const key = hash(token);
      const session = byHash.get(key);
      if (!session) return undefined;
      if (now - session.lastSeenAt > o.idleMs || now - session.createdAt > o.maxAgeMs) {
        byHash.delete(key);
        return undefined;
      }
      session.lastSeenAt = now;
      byHash.delete(key);
      byHash.set(key, session);
      return session;
    },
    delete(token) {
      if (token) byHash.delete(hash(token));
    },
    endAll(username, keep) {
      for (const [key, s] of byHash) if (s.username === username && s !== keep) byHash.delete(key);
    },
    get size() {
      return byHash.size;
    },
  };
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function sameToken(presented: unknown, expected: string): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export const COOKIE_NAME = 'blh_admin';

/** The value of one cookie from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Set-Cookie for the session: HttpOnly, SameSite=Strict, limited to /admin, Secure over TLS. */
export function sessionCookie(token: string, { secure, maxAgeS }: { secure: boolean; maxAgeS: number }): string {
  return [`${COOKIE_NAME}=${token}`, 'Path=/admin', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeS}`, ...(secure ? ['Secure'] : [])].join('; ');
}

export function clearedCookie(secure: boolean): string {
  return [`${COOKIE_NAME}=`, 'Path=/admin', 'HttpOnly', 'SameSite=Strict', 'Max-Age=0', ...(secure ? ['Secure'] : [])].join('; ');
}
