/**
 * Hostile and broken input at every route: each answer is a 4xx with a stable code (or, for a batch, a
 * per-record rejection), never a 5xx, and the server keeps serving afterwards. Run through inject() and
 * again over a real socket, where Node's HTTP parser and real body streaming are in the way too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { issueApiKey } from '../../src/auth/index.ts';
import { testServer, voice } from './helpers.ts';
import type { TestServer } from './helpers.ts';

const deepArray = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepObject = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const good = JSON.stringify(voice());

interface Case {
  name: string;
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url?: string;
  contentType?: string | null;
  body?: string | Buffer;
  /** Send the admin key instead of the product key. */
  admin?: boolean;
  noKey?: boolean;
  status: number;
  code?: string;
  /** For batch answers: the code of every item's first reason. */
  itemCodes?: string[];
}

const CASES: Case[] = [
  { name: 'malformed JSON', body: '{"id": "a",, }', status: 400, code: 'BLH_ERR_MALFORMED_JSON' },
  { name: 'truncated JSON', body: good.slice(0, good.length - 7), status: 400, code: 'BLH_ERR_MALFORMED_JSON' },
  { name: 'trailing garbage', body: `${good} trailing`, status: 400, code: 'BLH_ERR_MALFORMED_JSON' },
  { name: 'single quotes', body: "{'id': 'a'}", status: 400, code: 'BLH_ERR_MALFORMED_JSON' },
  { name: 'NaN', body: '{"n": NaN}', status: 400, code: 'BLH_ERR_MALFORMED_JSON' },
  { name: 'empty body', body: '', status: 400, code: 'BLH_ERR_EMPTY_BODY' },
  { name: 'whitespace body', body: '   \n ', status: 400, code: 'BLH_ERR_MALFORMED_JSON' },
  { name: 'empty array', body: '[]', status: 400, code: 'BLH_ERR_EMPTY_BODY' },
  { name: 'no body at all', body: undefined, contentType: null, status: 400, code: 'BLH_ERR_EMPTY_BODY' },
  { name: 'a number', body: '42', status: 422, code: 'BLH_ERR_RECORD_REJECTED' },
  { name: 'a string', body: '"record"', status: 422, code: 'BLH_ERR_RECORD_REJECTED' },
  { name: 'null', body: 'null', status: 422, code: 'BLH_ERR_RECORD_REJECTED' },
  { name: 'wrong types in the envelope', body: JSON.stringify({ ...voice(), id: 5, time: true, data: [] }), status: 422, code: 'BLH_ERR_RECORD_REJECTED' },
  { name: 'wrong types in a batch', body: JSON.stringify([1, 'x', null, [], { ...voice(), id: {} }]), status: 200, itemCodes: ['NOT_AN_OBJECT', 'NOT_AN_OBJECT', 'NOT_AN_OBJECT', 'NOT_AN_OBJECT', 'SCHEMA_VIOLATION'] },
  { name: 'a huge string field', body: JSON.stringify(voice({ id: 'x'.repeat(500_000) })), status: 422, code: 'BLH_ERR_RECORD_REJECTED' },
  { name: 'huge numbers', body: JSON.stringify(voice({}, { duration_s: 1e308 })), status: 422, code: 'BLH_ERR_RECORD_REJECTED' },
  { name: '10 MB body', body: Buffer.alloc(10 * 1024 * 1024, 0x20), status: 413, code: 'BLH_ERR_BODY_TOO_LARGE' },
  { name: '10,000-deep arrays', body: deepArray(10_000), status: 400, code: 'BLH_ERR_TOO_DEEP' },
  { name: '10,000-deep objects', body: deepObject(10_000), status: 400, code: 'BLH_ERR_TOO_DEEP' },
  { name: '10,000-deep inside a record', body: `{"specversion":"1.0","data":${deepObject(10_000)}}`, status: 400, code: 'BLH_ERR_TOO_DEEP' },
  { name: '10,000-deep and truncated', body: deepArray(10_000).slice(0, 15_000), status: 400, code: 'BLH_ERR_MALFORMED_JSON' },
  { name: '__proto__ at the top', body: `{"__proto__": {"admin": true}, ${good.slice(1)}`, status: 400, code: 'BLH_ERR_FORBIDDEN_KEY' },
  { name: '__proto__ in data', body: JSON.stringify(voice()).replace('"data":{', '"data":{"__proto__":{"polluted":1},'), status: 400, code: 'BLH_ERR_FORBIDDEN_KEY' },
  { name: 'constructor.prototype', body: JSON.stringify({ ...voice(), constructor: { prototype: { polluted: 1 } } }), status: 400, code: 'BLH_ERR_FORBIDDEN_KEY' },
  { name: '__proto__ in a batch item', body: `[${good}, {"__proto__": null}]`, status: 400, code: 'BLH_ERR_FORBIDDEN_KEY' },
  { name: 'invalid UTF-8', body: Buffer.concat([Buffer.from('{"id": "'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]), status: 400, code: 'BLH_ERR_INVALID_UTF8' },
  { name: 'overlong UTF-8 NUL', body: Buffer.concat([Buffer.from('{"id": "'), Buffer.from([0xc0, 0x80]), Buffer.from('"}')]), status: 400, code: 'BLH_ERR_INVALID_UTF8' },
  { name: 'lone surrogate escapes are fine JSON', body: JSON.stringify(voice({ id: '\ud800' })), status: 202 },
  { name: 'text/plain', body: good, contentType: 'text/plain', status: 415, code: 'BLH_ERR_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'form data', body: 'id=1', contentType: 'application/x-www-form-urlencoded', status: 415, code: 'BLH_ERR_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'multipart', body: '--x\r\n\r\n--x--', contentType: 'multipart/form-data; boundary=x', status: 415, code: 'BLH_ERR_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'no content type', body: good, contentType: null, status: 415, code: 'BLH_ERR_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'latin1 charset', body: good, contentType: 'application/json; charset=latin1', status: 415, code: 'BLH_ERR_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'garbage content type', body: good, contentType: '!!!', status: 415, code: 'BLH_ERR_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'a huge batch', body: `[${Array(5000).fill('{}').join(',')}]`, status: 413, code: 'BLH_ERR_BATCH_TOO_LARGE' },
  { name: 'a huge NDJSON batch', body: Array(5000).fill('{}').join('\n'), contentType: 'application/x-ndjson', status: 413, code: 'BLH_ERR_BATCH_TOO_LARGE' },
  { name: 'NDJSON of blank lines', body: '\n\n  \n', contentType: 'application/x-ndjson', status: 400, code: 'BLH_ERR_EMPTY_BODY' },
  { name: 'NDJSON with a deep line', body: `${good}\n${deepArray(10_000)}`, contentType: 'application/x-ndjson', status: 202, itemCodes: ['', 'MALFORMED'] },
  { name: 'a batch for the wrong media type', body: good, contentType: 'application/cloudevents-batch+json', status: 400, code: 'BLH_ERR_REQUEST_INVALID' },
  { name: 'validate: malformed', url: '/v1/records/validate', body: '{"', status: 400, code: 'BLH_ERR_MALFORMED_JSON' },
  { name: 'validate: deep', url: '/v1/records/validate', body: deepArray(10_000), status: 400, code: 'BLH_ERR_TOO_DEEP' },
  { name: 'validate: 10 MB', url: '/v1/records/validate', body: Buffer.alloc(10 * 1024 * 1024, 0x5b), status: 413, code: 'BLH_ERR_BODY_TOO_LARGE' },
  { name: 'validate: wrong type', url: '/v1/records/validate', body: good, contentType: 'text/csv', status: 415, code: 'BLH_ERR_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'no key', body: good, noKey: true, status: 401, code: 'BLH_ERR_UNAUTHORIZED' },
  { name: 'no key and 10 MB', body: Buffer.alloc(10 * 1024 * 1024, 0x20), noKey: true, status: 401, code: 'BLH_ERR_UNAUTHORIZED' },
  { name: 'GET: bad percent-encoding', method: 'GET', url: '/v1/records/%E0%A4%A/x', status: 400, code: 'BLH_ERR_REQUEST_INVALID' },
  { name: 'GET: a source too long', method: 'GET', url: `/v1/records/${'s'.repeat(600)}/x`, status: 400, code: 'BLH_ERR_REQUEST_INVALID' },
  { name: 'GET: a source far too long', method: 'GET', url: `/v1/records/${'s'.repeat(5000)}/x`, status: 414, code: 'BLH_ERR_REQUEST_INVALID' },
  { name: 'GET: no id', method: 'GET', url: '/v1/records/voice-platform', status: 404, code: 'BLH_ERR_ROUTE_NOT_FOUND' },
  { name: 'GET: dot segments', method: 'GET', url: '/v1/records/voice-platform/..%2F..%2Fetc', status: 404, code: 'BLH_ERR_RECORD_NOT_FOUND' },
  { name: 'GET: a body is ignored', method: 'GET', url: '/healthz', body: '{"x":', status: 200 },
  { name: 'unknown route', method: 'POST', url: '/v2/records', body: good, status: 404, code: 'BLH_ERR_ROUTE_NOT_FOUND' },
  { name: 'wrong method', method: 'DELETE', url: '/v1/records', status: 404, code: 'BLH_ERR_ROUTE_NOT_FOUND' },
  { name: 'PUT a record', method: 'PUT', url: '/v1/records/voice-platform/x', body: good, status: 404, code: 'BLH_ERR_ROUTE_NOT_FOUND' },
  { name: 'admin: a body of a type it does not take', url: '/admin/ruleset/reload', admin: true, body: 'x', contentType: 'text/plain', status: 415, code: 'BLH_ERR_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'admin: NDJSON', url: '/admin/ruleset/reload', admin: true, body: '{}', contentType: 'application/x-ndjson', status: 415, code: 'BLH_ERR_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'admin: a malformed JSON body', url: '/admin/ruleset/reload', admin: true, body: '{"x":', status: 400, code: 'BLH_ERR_MALFORMED_JSON' },
  { name: 'admin: a deep JSON body', url: '/admin/ruleset/reload', admin: true, body: deepObject(10_000), status: 400, code: 'BLH_ERR_TOO_DEEP' },
  { name: 'admin: a JSON body it does not need', url: '/admin/ruleset/reload', admin: true, body: '{"x": 1}', status: 200 },
  { name: 'admin: a product key', url: '/admin/ruleset/reload', body: '', contentType: null, status: 403, code: 'BLH_ERR_FORBIDDEN' },
  { name: 'admin: Basic auth garbage', url: '/admin/ruleset/reload', noKey: true, body: '', contentType: null, status: 401, code: 'BLH_ERR_UNAUTHORIZED' },
];

type Send = (c: Case, keys: { key: string; admin: string }) => Promise<{ status: number; headers: Record<string, unknown>; body: string }>;

function runCases(label: string, setup: () => Promise<{ send: Send; s: TestServer; admin: string }>) {
  describe(label, () => {
    let ctx: { send: Send; s: TestServer; admin: string };
    beforeAll(async () => {
      ctx = await setup();
    });
    afterAll(() => ctx?.s.close());

    it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      const res = await ctx.send(c, { key: ctx.s.key, admin: ctx.admin });
      expect(res.status, res.body.slice(0, 300)).toBe(c.status);
      expect(res.status).toBeLessThan(500);
      if (res.status === 200 && c.method === 'GET') return;
      const body = JSON.parse(res.body);
      if (c.code) {
        expect(body.code).toBe(c.code);
        expect(typeof body.message).toBe('string');
        expect(body.message.length).toBeGreaterThan(10);
      }
      if (c.itemCodes) expect(body.results.map((r: { errors?: { code: string }[] }) => r.errors?.[0]?.code ?? '')).toEqual(c.itemCodes);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    });

    it('keeps serving afterwards', async () => {
      const res = await ctx.send({ name: 'good', body: JSON.stringify(voice({ id: `after-${label}` })), status: 202 }, { key: ctx.s.key, admin: ctx.admin });
      expect(res.status).toBe(202);
      const health = await ctx.send({ name: 'health', method: 'GET', url: '/healthz', status: 200 }, { key: ctx.s.key, admin: ctx.admin });
      expect(health.status).toBe(200);
    });

    it('gave the malformed-JSON answer a position', async () => {
      const res = await ctx.send({ name: 'pos', body: '{\n  "id": "a",\n  "x": tru\n}', status: 400 }, { key: ctx.s.key, admin: ctx.admin });
      expect(JSON.parse(res.body)).toMatchObject({ code: 'BLH_ERR_MALFORMED_JSON', line: 3, column: 8 });
    });
  });
}

function headersOf(c: Case, keys: { key: string; admin: string }): Record<string, string> {
  const h: Record<string, string> = {};
  if (c.contentType !== null) h['content-type'] = c.contentType ?? 'application/json';
  if (c.noKey) {
    if (c.url?.startsWith('/admin')) h.authorization = 'Basic !!!not-base64';
  } else h['x-api-key'] = c.admin ? keys.admin : keys.key;
  return h;
}

async function setupServer() {
  const s = await testServer({ maxBatch: 1000, rateLimit: false }, { shared: true });
  const { key: admin } = await issueApiKey(s.store, { name: 'ops', sources: ['@admin'] });
  return { s, admin };
}

runCases('through inject()', async () => {
  const { s, admin } = await setupServer();
  const send: Send = async (c, keys) => {
    const res = await s.app.inject({ method: c.method ?? 'POST', url: c.url ?? '/v1/records', headers: headersOf(c, keys), ...(c.body === undefined ? {} : { payload: c.body }) });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  };
  return { send, s, admin };
});

let origin = '';
runCases('over a real socket', async () => {
  const { s, admin } = await setupServer();
  origin = await s.app.listen({ port: 0, host: '127.0.0.1' });
  const send: Send = async (c, keys) => {
    const res = await request(`${origin}${c.url ?? '/v1/records'}`, { method: c.method ?? 'POST', headers: headersOf(c, keys), body: c.body, reset: true });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  };
  return { send, s, admin };
});

