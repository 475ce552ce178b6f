/**
 * Every /admin/api route but login goes through here before its handler: the session cookie must name a
 * live session whose account still exists with the same password; a state-changing request must carry the
 * session's CSRF token and come from this origin; the account's role (read again each time, so a change
 * applies at once) must have the route's permission.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AdminError, AdminErrorCodes as E, forbidden, notLoggedIn } from './errors.ts';
import type { AdminContext } from './context.ts';
import { may, PERMISSION_TEXT } from './roles.ts';
import { COOKIE_NAME, fingerprint, readCookie, sameToken } from './sessions.ts';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Cross-origin writes are refused even before the CSRF token is looked at (and login has no token yet). */
export function checkOrigin(request: FastifyRequest): void {
  if (SAFE.has(request.method)) return;
  const site = request.headers['sec-fetch-site'];
  if (site === 'cross-site') throw new AdminError(E.CSRF, 403, 'cross-site requests may not change anything');
  const origin = request.headers.origin;
  if (origin === undefined) return;
  // Through URL on both sides, so a default port (":80", ":443") compares equal to none.
  const host = (url: string) => {
    try {
      return new URL(url).host;
    } catch {
      return undefined;
    }
  };
  const theirs = host(origin);
  if (theirs === undefined || theirs !== host(`${request.protocol}://${request.host}`)) throw new AdminError(E.CSRF, 403, `requests from ${origin} may not change anything here`, { details: { origin } });
}

export function sessionGuard(ctx: AdminContext) {
  return async function guard(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const permission = request.routeOptions.config.adminPermission;
    checkOrigin(request);
    if (!permission) return;
    const token = readCookie(request.headers.cookie, COOKIE_NAME);
    const session = ctx.sessions.get(token, ctx.o.clock());
    if (!session || !token) throw notLoggedIn(token ? 'the session expired or was logged out' : 'log in first');
    const account = await ctx.o.store.getAccount(session.username);
    if (!account || fingerprint(account.passwordHash) !== session.passwordFingerprint) {
      ctx.sessions.delete(token);
      throw notLoggedIn(account ? 'the password was changed; log in again' : 'the account was removed');
    }
    if (!SAFE.has(request.method) && !sameToken(request.headers['x-csrf-token'], session.csrfToken)) {
      throw new AdminError(E.CSRF, 403, 'the X-CSRF-Token header is missing or wrong; reload the page');
    }
    request.adminUser = { username: account.username, role: account.role, session, token };
    if (permission !== 'session' && !may(account.role, permission)) throw forbidden(account.role, PERMISSION_TEXT[permission]);
  };
}
