import { describe, expect, it } from 'vitest';
import { generateApiKey, hashPassword, parseApiKey, verifyPassword, verifySecret } from '../../src/auth/index.ts';
import { locateJsonError } from '../../src/server/body/json-error.ts';
import { inspectShape } from '../../src/server/body/inspect.ts';
import { createHash } from 'node:crypto';
import { canonicalJson, canonicalText, payloadHash } from '../../src/server/canonical-json.ts';
import { createRateLimiter } from '../../src/server/rate-limit.ts';
import { createMemoryStore } from '../../src/adapters/memory/index.ts';
import { bootstrap } from '../../src/server/bootstrap.ts';

describe('locateJsonError', () => {
  it.each([
    ['{"a":}', 1, 6, 'expected a JSON value'],
    ['{"a":1', 1, 7, 'unclosed'],
    ['[1,2,]', 1, 6, 'expected a JSON value'],
    ['{\n  "a": 1,\n  b: 2\n}', 3, 3, 'string key'],
    ['{"a": "x\ny"}', 1, 9, 'control character'],
    ['{} {}', 1, 4, 'after the end'],
    ['"\\q"', 1, 2, 'bad escape'],
    ['tru', 1, 1, 'expected a JSON value'],
    ['-', 1, 1, 'malformed number'],
    ['', 1, 1, 'before a value'],
  ])('%j fails at line %i column %i', (text, line, column, reason) => {
    const at = locateJsonError(text);
    expect(at).toMatchObject({ line, column });
    expect(at.reason).toContain(reason);
  });

  it('walks 100,000 levels without overflowing the stack', () => {
    expect(locateJsonError('['.repeat(100_000)).reason).toContain('100000 unclosed brackets');
  });
});

describe('inspectShape', () => {
  it('finds nesting deeper than the limit, with its path', () => {
    expect(inspectShape({ a: { b: [{ c: 1 }] } }, 4)).toBeUndefined();
    expect(inspectShape({ a: { b: [{ c: {} }] } }, 4)).toMatchObject({ kind: 'depth', path: '/a/b/0/c' });
    expect(inspectShape(JSON.parse('['.repeat(50_000) + ']'.repeat(50_000)), 32)).toMatchObject({ kind: 'depth' });
  });

  it('finds __proto__ and constructor.prototype anywhere, and lets a plain "constructor" field be', () => {
    expect(inspectShape(JSON.parse('{"data": {"x/y": [{"__proto__": {}}]}}'), 32)).toMatchObject({ kind: 'key', path: '/data/x~1y/0/__proto__' });
    expect(inspectShape(JSON.parse('{"constructor": {"prototype": {}}}'), 32)).toMatchObject({ kind: 'key', path: '/constructor' });
    expect(inspectShape({ constructor: 'a string', data: { constructor: { name: 'x' } } }, 32)).toBeUndefined();
  });
});

describe('payload hash', () => {
  it('does not depend on key order, but does on every value', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: null }] })).toBe('{"a":[{"c":null,"d":2}],"b":1}');
    expect(payloadHash({ a: 1, b: 2 })).toBe(payloadHash({ b: 2, a: 1 }));
    expect(payloadHash({ a: 1 })).not.toBe(payloadHash({ a: '1' }));
  });

  it('is the SHA-256 of canonicalJson, whichever way the text is made', () => {
    const reference = (v: unknown) => `sha256:${createHash('sha256').update(canonicalJson(v)).digest('hex')}`;
    const values: unknown[] = [
      JSON.parse('{"specversion":"1.0","id":"x","data":{"duration_s":187,"from":"+55","nested":[1,{"z":null,"a":[true,false]}],"é":"ü\\u0000"}}'),
      // Index-like keys are listed first by JS objects whatever their order: the text must still sort them as strings.
      JSON.parse('{"b":1,"10":2,"9":3,"01":4,"a":{"2":[],"1":{}}}'),
      JSON.parse('{"__proto__":{"x":1},"a":2}'),
      { a: undefined, b: [undefined, () => 1], c: new Date(0), d: Object.create(null) },
      { s: 'quote " backslash \\ newline \n', n: -0, e: 1e21, f: 0.1 },
      [1, 'two', null],
      'text',
      42,
      null,
    ];
    for (const v of values) {
      expect(canonicalText(v)).toBe(canonicalJson(v));
      expect(payloadHash(v)).toBe(reference(v));
    }
    expect(canonicalText(JSON.parse('{"b":1,"10":2,"9":3}'))).toBe('{"10":2,"9":3,"b":1}');
  });
});

describe('rate limiter', () => {
  it('gives each key `burst` requests, then one per 1/rate seconds, and says how long to wait', () => {
    let now = 0;
    const limiter = createRateLimiter({ requestsPerSecond: 2, burst: 2 }, () => now);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 1]);
    expect(limiter.take('b')).toBe(0);
    now += 500;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
    const slow = createRateLimiter({ requestsPerSecond: 0.1, burst: 1 }, () => now);
    slow.take('x');
    expect(slow.take('x')).toBe(10);
  });
});

describe('API keys and passwords', () => {
  it('makes keys of a prefix and a secret, and checks the secret against its hash only', () => {
    const a = generateApiKey();
    expect(a.key.startsWith(`${a.prefix}.`)).toBe(true);
    const parts = parseApiKey(a.key)!;
    expect(parts.prefix).toBe(a.prefix);
    expect(verifySecret(parts.secret, a.hash)).toBe(true);
    expect(verifySecret(`${parts.secret}x`, a.hash)).toBe(false);
    expect(verifySecret(parts.secret, 'short')).toBe(false);
    expect(a.hash).not.toContain(parts.secret);
    for (const bad of ['', 'blh_', 'blh_.x', 'blh_abc.', 'nope.abc', 'blh_a b.c', `blh_x.${'y'.repeat(300)}`]) expect(parseApiKey(bad)).toBeUndefined();
  });

  it('hashes passwords with scrypt and a salt', async () => {
    const h1 = await hashPassword('correct horse');
    const h2 = await hashPassword('correct horse');
    expect(h1).toMatch(/^scrypt\$15\$8\$1\$/);
    expect(h1).not.toBe(h2);
    expect(await verifyPassword('correct horse', h1)).toBe(true);
    expect(await verifyPassword('wrong horse', h1)).toBe(false);
    expect(await verifyPassword('x', 'plaintext')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$30$8$1$AAAA$BBBB')).toBe(false);
  });

  it('bootstraps an empty store once: an admin account and a demo key, stored as hashes', async () => {
    const store = createMemoryStore();
    const first = await bootstrap(store);
    expect(first).toMatchObject({ admin: { username: 'admin' }, demoKey: { name: 'demo', sources: ['voice-platform', 'sms-gateway', 'mobile-core', 'storage-svc'] } });
    const account = await store.getAccount('admin');
    expect(account!.role).toBe('admin');
    expect(account!.passwordHash).not.toContain(first!.admin.password);
    expect(await verifyPassword(first!.admin.password, account!.passwordHash)).toBe(true);
    const key = await store.findApiKeyByPrefix(first!.demoKey.prefix);
    expect(key!.hash).not.toContain(first!.demoKey.key.split('.')[1]);
    expect(await bootstrap(store)).toBeUndefined();
    expect((await store.listAudit()).items.map((a) => a.action).sort()).toEqual(['account.create', 'key.create']);
  });
});
