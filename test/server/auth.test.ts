import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import { issueApiKey, hashPassword } from '../../src/auth/index.ts';
import { testServer, voice, sms } from './helpers.ts';

describe('API keys', () => {
  it('refuses a request without a key, with a malformed key, or with an unknown one: 401 BLH_ERR_UNAUTHORIZED', async () => {
    const s = await testServer();
    for (const headers of [{}, { 'x-api-key': 'hunter2' }, { 'x-api-key': 'blh_abcdefghij.wrongsecret' }, { authorization: 'Bearer blh_nope.nope' }, { authorization: 'Basic YTpi' }]) {
      const res = await s.app.inject({ method: 'POST', url: '/v1/records', headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(voice()) });
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('BLH_ERR_UNAUTHORIZED');
      expect(res.headers['www-authenticate']).toContain('Bearer');
    }
    expect(await s.store.getRecord('voice-platform', 'call-1')).toBeUndefined();
  });

  it('refuses the right prefix with a wrong secret', async () => {
    const s = await testServer();
    const [prefix] = s.key.split('.');
    const res = await s.post(voice(), { key: `${prefix}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA` });
    expect(res.statusCode).toBe(401);
  });

  it('takes the key as Authorization: Bearer too', async () => {
    const s = await testServer();
    const res = await s.app.inject({ method: 'POST', url: '/v1/records', headers: { 'content-type': 'application/json', authorization: `Bearer ${s.key}` }, payload: JSON.stringify(voice()) });
    expect(res.statusCode).toBe(202);
  });

  it('a key for one product cannot submit another product\'s records: 403, and nothing of the batch is stored', async () => {
    const s = await testServer();
    const one = await s.post(voice(), { key: s.otherKey });
    expect(one.statusCode).toBe(403);
    expect(one.json()).toMatchObject({ code: 'BLH_ERR_FORBIDDEN', sources: ['voice-platform'] });
    const batch = await s.post([voice({ source: 'mobile-core', id: 'mine' }), voice()], { key: s.otherKey });
    expect(batch.statusCode).toBe(403);
    expect(await s.store.getRecord('mobile-core', 'mine')).toBeUndefined();
    const validate = await s.post(voice(), { key: s.otherKey, url: '/v1/records/validate' });
    expect(validate.statusCode).toBe(403);
  });

  it('a key for one product cannot read another product\'s records', async () => {
    const s = await testServer();
    await s.post(voice());
    const res = await s.get('/v1/records/voice-platform/call-1', s.otherKey);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('BLH_ERR_FORBIDDEN');
    // Even a record that does not exist answers 403, so nothing about another product leaks.
    expect((await s.get('/v1/records/voice-platform/nope', s.otherKey)).statusCode).toBe(403);
  });

  it('does not log another product\'s rejections: a record without a readable source is judged but not logged', async () => {
    const s = await testServer();
    const res = await s.post([{ ...voice(), source: 42 }], { key: s.otherKey });
    expect(res.json().results[0].status).toBe('rejected');
    expect((await s.store.listRejections()).items).toEqual([]);
  });

  it('a key with "*" may send and read every source', async () => {
    const s = await testServer();
    const { key } = await issueApiKey(s.store, { name: 'all', sources: ['*'] });
    expect((await s.post([voice(), sms()], { key })).statusCode).toBe(202);
    expect((await s.get('/v1/records/sms-gateway/sms-1', key)).statusCode).toBe(200);
  });

  it('on a SQLite store, whose key lookups are cached, a key revoked by another program stops at the very next request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-auth-'));
    try {
      const filename = join(dir, 'keys.db');
      const s = await testServer({ store: createSqliteStore({ filename }) });
      const { key, info } = await issueApiKey(s.store, { name: 'short-lived', sources: ['voice-platform'] });
      // No write between these: the second request is answered from the cache.
      expect((await s.get('/v1/records/voice-platform/none', key)).statusCode).toBe(404);
      expect((await s.get('/v1/records/voice-platform/none', key)).statusCode).toBe(404);
      // The same prefix with another secret is checked, not taken from what was checked before.
      const [prefix, secret] = key.split('.');
      const wrong = `${prefix}.${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
      expect((await s.get('/v1/records/voice-platform/none', wrong)).statusCode).toBe(401);
      // Another program (the CLI) revokes it: the server's store sees another connection's commit.
      const cli = createSqliteStore({ filename });
      await cli.revokeApiKey(info.id);
      await cli.close();
      expect((await s.get('/v1/records/voice-platform/none', key)).statusCode).toBe(401);
      expect((await s.post(voice({ id: 'after' }), { key })).statusCode).toBe(401);
      // The server's own key still works, checked again after that commit.
      expect((await s.post(voice({ id: 'mine' }))).statusCode).toBe(202);
      await s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a revoked key stops working at the very next request', async () => {
    const s = await testServer();
    const { key, info } = await issueApiKey(s.store, { name: 'short-lived', sources: ['voice-platform'] });
    expect((await s.post(voice({ id: 'r1' }), { key })).statusCode).toBe(202);
    await s.store.revokeApiKey(info.id);
    const res = await s.post(voice({ id: 'r2' }), { key });
    expect(res.statusCode).toBe(401);
    expect((await s.get('/v1/records/voice-platform/r1', key)).statusCode).toBe(401);
  });
});

describe('admin routes', () => {
  it('take an @admin key or an admin account over Basic auth, and refuse product keys and other roles', async () => {
    const s = await testServer();
    const { key: admin } = await issueApiKey(s.store, { name: 'ops', sources: ['@admin'] });
    await s.store.createAccount({ username: 'root', passwordHash: await hashPassword('s3cret-pass'), role: 'admin' });
    await s.store.createAccount({ username: 'viewer', passwordHash: await hashPassword('viewer-pass'), role: 'viewer' });
    const reload = (headers: Record<string, string>) => s.app.inject({ method: 'POST', url: '/admin/ruleset/reload', headers });
    const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });

    expect((await reload({ 'x-api-key': admin })).statusCode).toBe(200);
    expect((await reload(basic('root', 's3cret-pass'))).statusCode).toBe(200);
    const product = await reload({ 'x-api-key': s.key });
    expect(product.statusCode).toBe(403);
    expect(product.json().code).toBe('BLH_ERR_FORBIDDEN');
    expect((await reload(basic('root', 'wrong'))).statusCode).toBe(401);
    expect((await reload(basic('nobody', 'x'))).statusCode).toBe(401);
    expect((await reload(basic('viewer', 'viewer-pass'))).statusCode).toBe(403);
    expect((await reload({})).statusCode).toBe(401);
    // An admin key is not a product key: it may not send records.
    expect((await s.post(voice(), { key: admin })).statusCode).toBe(403);
  });
});

describe('rate limits', () => {
  it('answers 429 BLH_ERR_RATE_LIMITED with Retry-After once a key has used its burst, per key', async () => {
    const s = await testServer({ rateLimit: { requestsPerSecond: 1, burst: 3 } });
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await s.post(voice({ id: `rl${i}` }))).statusCode);
    expect(codes).toEqual([202, 202, 202, 429]);
    const limited = await s.post(voice({ id: 'rl9' }));
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.json()).toMatchObject({ code: 'BLH_ERR_RATE_LIMITED', retryAfterSeconds: 1 });
    expect(await s.store.getRecord('voice-platform', 'rl9')).toBeUndefined();
    // Another key has its own bucket.
    expect((await s.post(voice({ source: 'mobile-core', id: 'x' }), { key: s.otherKey })).statusCode).not.toBe(429);
  });

  it('refills the bucket as time passes', async () => {
    let now = Date.parse('2026-11-25T12:00:00Z');
    const s = await testServer({ rateLimit: { requestsPerSecond: 2, burst: 1 }, clock: () => now });
    expect((await s.post(voice({ id: 'a' }))).statusCode).toBe(202);
    expect((await s.post(voice({ id: 'b' }))).statusCode).toBe(429);
    now += 500;
    expect((await s.post(voice({ id: 'b' }))).statusCode).toBe(202);
  });
});

describe('logs', () => {
  it('never show a key, a secret or a password, even on failures', async () => {
    const s = await testServer();
    const { key: admin } = await issueApiKey(s.store, { name: 'ops', sources: ['@admin'] });
    await s.store.createAccount({ username: 'root', passwordHash: await hashPassword('s3cret-pass'), role: 'admin' });
    await s.post(voice());
    await s.post(voice(), { key: s.otherKey });
    await s.post(voice(), { key: `${s.key}x` });
    await s.post('{"bad json', { key: s.key });
    await s.app.inject({ method: 'POST', url: '/admin/ruleset/reload', headers: { 'x-api-key': admin } });
    await s.app.inject({ method: 'POST', url: '/admin/ruleset/reload', headers: { authorization: `Basic ${Buffer.from('root:s3cret-pass').toString('base64')}` } });
    await s.app.inject({ method: 'POST', url: '/admin/ruleset/reload', headers: { authorization: `Basic ${Buffer.from('root:wrong-pass').toString('base64')}` } });
    const text = s.logs.text();
    expect(s.logs.lines.filter((l) => l.msg === 'request completed').length).toBeGreaterThanOrEqual(7);
    for (const secret of [s.key, s.otherKey, admin, 's3cret-pass', 'wrong-pass', ...[s.key, s.otherKey, admin].map((k) => k.split('.')[1])]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/scrypt\$/);
    // Every request line carries the request id; callers show by prefix only.
    const completed = s.logs.lines.filter((l) => l.msg === 'request completed');
    expect(completed.every((l) => typeof l.reqId === 'string')).toBe(true);
    expect(completed.some((l) => l.caller === s.key.split('.')[0])).toBe(true);
  });

  it('redacts credentials even when code logs a header object by mistake', async () => {
    const s = await testServer();
    s.app.log.info({ req: { headers: { authorization: 'Bearer blh_x.y', 'x-api-key': 'blh_a.b' } }, apiKey: 'blh_c.d', password: 'p' }, 'oops');
    expect(s.logs.text()).not.toMatch(/blh_x\.y|blh_a\.b|blh_c\.d|"p"/);
  });
});
