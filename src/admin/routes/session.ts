/** POST /admin/api/login, POST /admin/api/logout, GET /admin/api/session, POST /admin/api/password. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hashPassword, verifyPassword } from '../../auth/passwords.ts';
import { changeOwnPassword } from '../accounts.ts';
import type { AdminContext } from '../context.ts';
import { user } from '../context.ts';
import { AdminError, AdminErrorCodes as E } from '../errors.ts';
import { permissionsOf, ROLES } from '../roles.ts';
import { clearedCookie, fingerprint, sessionCookie } from '../sessions.ts';
import type { Session } from '../sessions.ts';

let dummyHash: Promise<string> | undefined;

const loginBody = {
  type: 'object',
  required: ['username', 'password'],
  additionalProperties: false,
  properties: { username: { type: 'string', minLength: 1, maxLength: 200 }, password: { type: 'string', minLength: 1, maxLength: 1024 } },
} as const;

const passwordBody = {
  type: 'object',
  required: ['current', 'next'],
  additionalProperties: false,
  properties: { current: { type: 'string', maxLength: 1024 }, next: { type: 'string', maxLength: 1024 } },
} as const;

export function sessionRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { o } = ctx;
  const secure = (request: FastifyRequest) => (o.secureCookie === 'auto' ? request.protocol === 'https' : o.secureCookie);

  function describeSession(username: string, role: string, session: Session) {
    const active = o.rulesets.current;
    return {
      user: { username, role },
      csrfToken: session.csrfToken,
      permissions: permissionsOf(role),
      roles: ROLES,
      expiresAt: new Date(Math.min(session.lastSeenAt + o.sessionIdleMs, session.createdAt + o.sessionMaxAgeMs)).toISOString(),
      features: {
        insight: typeof o.store.timeSeries === 'function' && typeof o.store.searchRecords === 'function',
        activate: typeof o.rulesets.swap === 'function',
        reload: typeof o.rulesets.reload === 'function',
        forwarder: Boolean(o.forwarder?.stats),
      },
      targets: active ? [...active.pipeline.targets] : [],
      ruleset: active ? { version: active.version, name: active.name } : null,
    };
  }

  app.post<{ Body: { username: string; password: string } }>('/api/login', { schema: { body: loginBody } }, async (request, reply: FastifyReply) => {
    const { username, password } = request.body;
    const now = o.clock();
    const address = request.ip;
    const wait = ctx.lockout.wait(username, address, now);
    if (wait > 0) throw locked(wait);
    const account = await o.store.getAccount(username);
    // Verify against something even when there is no such account, so timing does not tell usernames.
    const ok = await verifyPassword(password, account?.passwordHash ?? (await (dummyHash ??= hashPassword('not a password at all'))));
    if (!account || !ok) {
      const delay = ctx.lockout.fail(username, address, o.clock());
      request.log.warn({ event: 'admin:login-failed', username, address, lockedForMs: delay }, 'admin panel: failed login');
      if (delay > 0) {
        await o.store.appendAudit({ actor: `address:${address}`, action: 'session.locked', target: username, after: { lockedForSeconds: Math.ceil(delay / 1000) }, at: new Date(o.clock()) });
        throw locked(delay);
      }
      throw new AdminError(E.LOGIN, 401, 'the username or password is wrong');
    }
    ctx.lockout.succeed(username, address);
    const { token, session } = ctx.sessions.create(account.username, account.passwordHash, o.clock());
    reply.header('set-cookie', sessionCookie(token, { secure: secure(request), maxAgeS: Math.floor(o.sessionMaxAgeMs / 1000) }));
    request.adminUser = { username: account.username, role: account.role, session, token };
    await ctx.audit(request, 'session.login', account.username, { after: { address } });
    request.log.info({ event: 'admin:login', username: account.username }, 'admin panel: logged in');
    return describeSession(account.username, account.role, session);
  });

  app.post('/api/logout', { config: { adminPermission: 'session' } }, async (request, reply) => {
    const u = user(request);
    ctx.sessions.delete(u.token);
    reply.header('set-cookie', clearedCookie(secure(request)));
    await ctx.audit(request, 'session.logout', u.username);
    return { ok: true };
  });

  app.get('/api/session', { config: { adminPermission: 'session' } }, async (request) => {
    const u = user(request);
    return describeSession(u.username, u.role, u.session);
  });

  app.post<{ Body: { current: string; next: string } }>('/api/password', { schema: { body: passwordBody }, config: { adminPermission: 'session' } }, async (request) => {
    const u = user(request);
    const updated = await changeOwnPassword(o.store, u.username, request.body.current, request.body.next, ctx.now());
    const account = await o.store.getAccount(updated.username);
    // This session goes on with the new password; every other session of the account ends.
    if (account) u.session.passwordFingerprint = fingerprint(account.passwordHash);
    ctx.sessions.endAll(u.username, u.session);
    return { ok: true };
  });
}

function locked(waitMs: number): AdminError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new AdminError(E.LOCKED, 429, `too many failed logins; try again in ${seconds} s`, { details: { retryAfterSeconds: seconds }, headers: { 'retry-after': String(seconds) } });
}
