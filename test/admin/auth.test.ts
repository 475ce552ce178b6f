/** Logging in and out, sessions, backoff on failed logins, CSRF, roles and passwords, over HTTP (inject). */
import { afterEach, describe, expect, it } from 'vitest';
import { client, cookieOf, panelServer, PASSWORD } from './support.ts';
import type { PanelServer } from './support.ts';

let server: PanelServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: Parameters<typeof panelServer>[0] = {}) {
  server = await panelServer(options);
  return server;
}

const login = (s: PanelServer, username: string, password: string, headers: Record<string, string> = {}) =>
  s.app.inject({ method: 'POST', url: '/admin/api/login', headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify({ username, password }) });

describe('login and sessions', () => {
  it('logs in with a session cookie that is HttpOnly, SameSite=Strict and limited to /admin, and answers the CSRF token', async () => {
    const s = await start();
    const res = await login(s, 'operator', PASSWORD);
    expect(res.statusCode).toBe(200);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^blh_admin=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/admin');
    expect(cookie).not.toContain('Secure');
    const body = res.json();
    expect(body.user).toEqual({ username: 'operator', role: 'operator' });
    expect(body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.permissions).toContain('dead-letters:write');
    expect(body.permissions).not.toContain('keys:write');
    const session = await client(s.app, cookieOf(res), body.csrfToken).get('/admin/api/session');
    expect(session.statusCode).toBe(200);
    expect(session.json().user.username).toBe('operator');
    expect(session.headers['cache-control']).toBe('no-store');
  });

  it('marks the cookie Secure behind TLS (secureCookie: true, or auto with X-Forwarded-Proto from a trusted proxy)', async () => {
    const forced = await start({ admin: { secureCookie: true } });
    expect(String((await login(forced, 'viewer', PASSWORD)).headers['set-cookie'])).toContain('; Secure');
    await forced.close();
    const proxied = await start({ server: { trustProxy: true } });
    expect(String((await login(proxied, 'viewer', PASSWORD, { 'x-forwarded-proto': 'https' })).headers['set-cookie'])).toContain('; Secure');
    expect(String((await login(proxied, 'operator', PASSWORD)).headers['set-cookie'])).not.toContain('Secure');
  });

  it('refuses a wrong password and an unknown user alike, and audits a successful login', async () => {
    const s = await start();
    for (const [u, p] of [['admin', 'wrong password'], ['nobody', PASSWORD]]) {
      const res = await login(s, u!, p!);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'BLH_ERR_ADMIN_LOGIN', message: 'the username or password is wrong' });
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    await s.as('admin');
    const audit = await s.store.listAudit({ action: 'session.login' });
    expect(audit.items.map((e) => e.actor)).toEqual(['admin']);
  });

  it('answers 401 BLH_ERR_ADMIN_SESSION without a session, with a made-up cookie, and after logout', async () => {
    const s = await start();
    expect((await s.app.inject({ method: 'GET', url: '/admin/api/overview' })).json().code).toBe('BLH_ERR_ADMIN_SESSION');
    expect((await s.app.inject({ method: 'GET', url: '/admin/api/overview', headers: { cookie: 'blh_admin=forged' } })).statusCode).toBe(401);
    const c = await s.as('viewer');
    const out = await c.post('/admin/api/logout');
    expect(out.statusCode).toBe(200);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    const after = await c.get('/admin/api/session');
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe('BLH_ERR_ADMIN_SESSION');
  });

  it('ends a session after the idle timeout', async () => {
    let now = Date.now();
    const s = await start({ clock: () => now, admin: { sessionIdleMs: 60_000 } });
    const c = await s.as('viewer');
    now += 59_000;
    expect((await c.get('/admin/api/session')).statusCode).toBe(200);
    now += 61_000;
    expect((await c.get('/admin/api/session')).statusCode).toBe(401);
  });

  it('ends the sessions of an account that is removed or gets a new password', async () => {
    const s = await start();
    const admin = await s.as('admin');
    const viewer = await s.as('viewer');
    const operator = await s.as('operator');
    expect((await admin.post('/admin/api/accounts/viewer/reset-password')).statusCode).toBe(200);
    expect((await viewer.get('/admin/api/session')).statusCode).toBe(401);
    expect((await admin.del('/admin/api/accounts/operator')).statusCode).toBe(200);
    expect((await operator.get('/admin/api/session')).statusCode).toBe(401);
  });
});

describe('backoff on failed logins', () => {
  it('locks a username after five failures, doubling the wait, and refuses even the right password meanwhile', async () => {
    let now = Date.now();
    const s = await start({ clock: () => now });
    for (let i = 0; i < 4; i++) expect((await login(s, 'admin', `wrong ${i}`)).statusCode).toBe(401);
    const fifth = await login(s, 'admin', 'wrong 5');
    expect(fifth.statusCode).toBe(429);
    expect(fifth.json()).toMatchObject({ code: 'BLH_ERR_ADMIN_LOCKED', retryAfterSeconds: 30 });
    expect(fifth.headers['retry-after']).toBe('30');
    const right = await login(s, 'admin', PASSWORD);
    expect(right.statusCode).toBe(429);
    now += 31_000;
    const sixth = await login(s, 'admin', 'wrong 6');
    expect(sixth.json()).toMatchObject({ code: 'BLH_ERR_ADMIN_LOCKED', retryAfterSeconds: 60 });
    now += 61_000;
    expect((await login(s, 'admin', PASSWORD)).statusCode).toBe(200);
    // A success starts the count again.
    expect((await login(s, 'admin', 'wrong again')).statusCode).toBe(401);
    const locked = await s.store.listAudit({ action: 'session.locked' });
    expect(locked.items.length).toBe(2);
    expect(locked.items[0]).toMatchObject({ target: 'admin', actor: expect.stringMatching(/^address:/) });
  });

  it('locks an address that tries many usernames', async () => {
    const s = await start();
    let last = 0;
    for (let i = 0; i < 20; i++) last = (await login(s, `user${i}`, 'guess')).statusCode;
    expect(last).toBe(429);
    expect((await login(s, 'viewer', PASSWORD)).statusCode).toBe(429);
  });
});

describe('CSRF', () => {
  it('refuses a state-changing request without the session token, or with another one', async () => {
    const s = await start();
    const c = await s.as('admin');
    const other = await s.as('operator');
    for (const headers of [{ 'x-csrf-token': '' }, { 'x-csrf-token': other.csrf }]) {
      const res = await s.app.inject({ method: 'POST', url: '/admin/api/keys', headers: { cookie: c.cookie, 'content-type': 'application/json', ...headers }, payload: JSON.stringify({ name: 'x', sources: ['a'] }) });
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('BLH_ERR_ADMIN_CSRF');
    }
    expect((await s.store.listApiKeys()).map((k) => k.name)).toEqual(['all']);
  });

  it('refuses writes from another origin, logins included', async () => {
    const s = await start();
    const c = await s.as('admin');
    const evil = await c.post('/admin/api/keys', { name: 'x', sources: ['a'] }, { origin: 'https://evil.example' });
    expect(evil.statusCode).toBe(403);
    expect(evil.json().code).toBe('BLH_ERR_ADMIN_CSRF');
    expect((await c.post('/admin/api/logout', {}, { 'sec-fetch-site': 'cross-site' })).statusCode).toBe(403);
    expect((await login(s, 'admin', PASSWORD, { origin: 'https://evil.example' })).statusCode).toBe(403);
    // The same origin is fine.
    expect((await c.post('/admin/api/keys', { name: 'x', sources: ['a'] }, { origin: 'http://localhost:80' })).statusCode).toBe(200);
  });

  it('takes JSON bodies only, so a plain HTML form cannot post to it', async () => {
    const s = await start();
    const c = await s.as('admin');
    const res = await s.app.inject({ method: 'POST', url: '/admin/api/keys', headers: { cookie: c.cookie, 'x-csrf-token': c.csrf, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=x&sources=a' });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('BLH_ERR_ADMIN_INPUT');
  });
});

describe('roles', () => {
  /** [method, url, body]: what only an operator or an admin may do, and what only an admin may do. */
  const operatorOnly: [string, string, unknown][] = [
    ['POST', '/admin/api/dead-letters/retry', { ids: ['1'] }],
    ['POST', '/admin/api/dead-letters/discard', { ids: ['1'] }],
    ['POST', '/admin/api/replay', { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }],
    ['POST', '/admin/api/rules/activate', { version: 'sha256:0000000000000000' }],
    ['POST', '/admin/api/rules/reload', {}],
  ];
  const adminOnly: [string, string, unknown][] = [
    ['GET', '/admin/api/keys', undefined],
    ['POST', '/admin/api/keys', { name: 'k', sources: ['voice-platform'] }],
    ['POST', '/admin/api/keys/1/revoke', {}],
    ['GET', '/admin/api/accounts', undefined],
    ['POST', '/admin/api/accounts', { username: 'eve', role: 'admin' }],
    ['POST', '/admin/api/accounts/viewer/role', { role: 'admin' }],
    ['POST', '/admin/api/accounts/admin/reset-password', {}],
    ['DELETE', '/admin/api/accounts/admin', undefined],
  ];
  const call = (c: Awaited<ReturnType<PanelServer['as']>>, [method, url, body]: [string, string, unknown]) =>
    method === 'GET' ? c.get(url) : method === 'DELETE' ? c.del(url) : c.post(url, body);

  it('a viewer reads every page but may change nothing', async () => {
    const s = await start();
    const viewer = await s.as('viewer');
    for (const url of ['/admin/api/overview', '/admin/api/alerts', '/admin/api/records', '/admin/api/dead-letters', '/admin/api/rules', '/admin/api/rules/files', '/admin/api/audit']) {
      expect((await viewer.get(url)).statusCode, url).toBe(200);
    }
    for (const request of [...operatorOnly, ...adminOnly]) {
      const res = await call(viewer, request);
      expect(res.statusCode, request[1]).toBe(403);
      expect(res.json().code).toBe('BLH_ERR_ADMIN_FORBIDDEN');
    }
    expect((await s.store.listAccounts()).map((a) => `${a.username}:${a.role}`)).toEqual(['admin:admin', 'operator:operator', 'viewer:viewer']);
    expect((await s.store.listAudit()).items.filter((e) => !e.action.startsWith('session.'))).toEqual([]);
  });

  it('an operator handles dead letters and rulesets but not keys or accounts', async () => {
    const s = await start();
    const operator = await s.as('operator');
    for (const request of operatorOnly) expect((await call(operator, request)).statusCode, request[1]).not.toBe(403);
    for (const request of adminOnly) expect((await call(operator, request)).statusCode, request[1]).toBe(403);
  });

  it('an admin may do everything', async () => {
    const s = await start();
    const admin = await s.as('admin');
    for (const request of [...operatorOnly, ...adminOnly.slice(0, 5)]) expect((await call(admin, request)).statusCode, request[1]).not.toBe(403);
  });

  it('applies a role change at the next request', async () => {
    const s = await start();
    const admin = await s.as('admin');
    const viewer = await s.as('viewer');
    expect((await viewer.get('/admin/api/keys')).statusCode).toBe(403);
    expect((await admin.post('/admin/api/accounts/viewer/role', { role: 'admin' })).statusCode).toBe(200);
    expect((await viewer.get('/admin/api/keys')).statusCode).toBe(200);
  });
});

describe('passwords', () => {
  it('changes your own password: the current one must be right, the new one long enough; other sessions end', async () => {
    const s = await start();
    const a = await s.as('operator');
    const b = await s.as('operator');
    expect((await a.post('/admin/api/password', { current: 'wrong wrong wrong', next: 'a new long password' })).json().code).toBe('BLH_ERR_ADMIN_PASSWORD');
    expect((await a.post('/admin/api/password', { current: PASSWORD, next: 'short' })).json().code).toBe('BLH_ERR_ADMIN_PASSWORD');
    expect((await a.post('/admin/api/password', { current: PASSWORD, next: 'a new long password' })).statusCode).toBe(200);
    expect((await a.get('/admin/api/session')).statusCode).toBe(200);
    expect((await b.get('/admin/api/session')).statusCode).toBe(401);
    expect((await login(s, 'operator', PASSWORD)).statusCode).toBe(401);
    expect((await login(s, 'operator', 'a new long password')).statusCode).toBe(200);
    const stored = await s.store.getAccount('operator');
    expect(stored?.passwordHash).toMatch(/^scrypt\$15\$8\$1\$/);
    expect((await s.store.listAudit({ action: 'account.password-change' })).items).toMatchObject([{ actor: 'operator', target: 'operator' }]);
  });
});
