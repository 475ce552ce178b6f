import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createHttpTarget } from '../../src/forwarder/targets/http.js';
import { OptionsError } from '../../src/errors.js';
import { answer, item, netError } from './helpers.js';

const out = { idempotency_key: 'urn:a:1', account: 'acme', sku: 'VOICE_OUT', quantity: 3, unit: 'minute', occurred_at: '2026-11-25T10:00:00Z', plan: 'business' };
const NOW = Date.parse('2026-11-25T10:00:00Z');

describe('http target: requests', () => {
  it('single send POSTs the output as JSON with the item key as idempotency-key and bearer auth', () => {
    const t = createHttpTarget({ url: 'https://billing.example.com/v1/charges?tenant=x', auth: { type: 'bearer', token: 't0k' }, headers: { 'X-Env': 'test' } });
    const it1 = item(out, { source: 'urn:a', id: '1' });
    const { requests, refused } = t.buildRequests([it1]);
    expect(refused).toEqual([]);
    expect(requests).toEqual([
      {
        method: 'POST',
        origin: 'https://billing.example.com',
        path: '/v1/charges?tenant=x',
        headers: { 'x-env': 'test', 'content-type': 'application/json', authorization: 'Bearer t0k', 'idempotency-key': 'urn:a:1' },
        body: JSON.stringify(out),
        items: [it1],
      },
    ]);
    expect(t.maxBatch).toBe(1);
  });

  it('basic auth', () => {
    const t = createHttpTarget({ url: 'http://127.0.0.1:9/x', auth: { type: 'basic', username: 'u', password: 'p' } });
    expect(t.buildRequests([item(out)]).requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
  });

  it('batch sends a JSON array of up to batchSize items with a key derived from the items keys', () => {
    const t = createHttpTarget({ url: 'http://127.0.0.1:9/v1/charges', batch: true, batchSize: 2 });
    const items = [item({ n: 1 }), item({ n: 2 }), item({ n: 3 })];
    const { requests } = t.buildRequests(items);
    expect(requests.map((r) => JSON.parse(r.body))).toEqual([[{ n: 1 }, { n: 2 }], [{ n: 3 }]]);
    expect(requests[0]!.items).toEqual(items.slice(0, 2));
    const h = createHash('sha256');
    for (const i of items.slice(0, 2)) h.update(i.idempotencyKey).update('\n');
    expect(requests[0]!.headers['idempotency-key']).toBe(`batch-${h.digest('base64url')}`);
    // Same items, same key: a resent batch is recognisable.
    expect(t.buildRequests(items.slice(0, 2)).requests[0]!.headers['idempotency-key']).toBe(requests[0]!.headers['idempotency-key']);
    expect(t.maxBatch).toBe(2);
  });

  it('refuses an output that cannot be sent as JSON, without sending it', () => {
    const t = createHttpTarget({ url: 'http://127.0.0.1:9/' });
    const bad = item({ n: 10n });
    const none = item(undefined);
    const good = item({ ok: true });
    const { requests, refused } = t.buildRequests([bad, good, none]);
    expect(requests.map((r) => r.items[0])).toEqual([good]);
    expect(refused.map((r) => r.item)).toEqual([bad, none]);
    expect(refused[0]!.outcome).toMatchObject({ kind: 'permanent', reason: expect.stringContaining('JSON') });
    expect(refused[0]!.outcome.status).toBeUndefined();
  });

  it('rejects unknown and wrong options by name', () => {
    expect(() => createHttpTarget({ url: 'http://x/', retries: 3 } as never)).toThrow(/unknown option "retries"/);
    expect(() => createHttpTarget({ url: 'not a url' })).toThrow(OptionsError);
    expect(() => createHttpTarget({ url: 'http://x/', auth: { type: 'digest' } as never })).toThrow(/auth.type/);
    expect(() => createHttpTarget({ url: 'http://x/', batch: true, batchSize: 0 })).toThrow(/batchSize/);
  });
});

describe('http target: answers', () => {
  const t = createHttpTarget({ url: 'http://127.0.0.1:9/v1/charges' });
  const req = t.buildRequests([item(out)]).requests[0]!;

  it('2xx is delivered, with the id the target gave', () => {
    expect(t.classify(req, answer(201, { id: 'ch_1' }), NOW)).toEqual([{ kind: 'delivered', status: 201, targetId: 'ch_1' }]);
    expect(t.classify(req, answer(204), NOW)).toEqual([{ kind: 'delivered', status: 204 }]);
  });

  it('409 is delivered as a duplicate', () => {
    expect(t.classify(req, answer(409, { error: 'duplicate' }), NOW)).toEqual([{ kind: 'delivered', status: 409, duplicate: true }]);
  });

  it.each([408, 429, 500, 502, 503, 504])('%i is retried', (status) => {
    expect(t.classify(req, answer(status), NOW)).toEqual([{ kind: 'retry', status, reason: `HTTP ${status}` }]);
  });

  it('honours Retry-After in seconds and as an HTTP date', () => {
    expect(t.classify(req, answer(429, '', { 'retry-after': '7' }), NOW)[0]).toMatchObject({ kind: 'retry', retryAfterMs: 7000 });
    const date = new Date(NOW + 90_000).toUTCString();
    expect(t.classify(req, answer(503, '', { 'retry-after': date }), NOW)[0]).toMatchObject({ kind: 'retry', retryAfterMs: 90_000 });
  });

  it.each([400, 401, 403, 404, 410, 413, 422, 301])('%i is permanent, with the answer kept', (status) => {
    expect(t.classify(req, answer(status, { error: 'bad' }), NOW)).toEqual([
      { kind: 'permanent', status, reason: `HTTP ${status}`, answer: '{"error":"bad"}' },
    ]);
  });

  it('network errors and timeouts are retried', () => {
    expect(t.classify(req, netError('ECONNREFUSED'), NOW)[0]).toMatchObject({ kind: 'retry', reason: expect.stringContaining('ECONNREFUSED') });
    expect(t.classify(req, netError('UND_ERR_HEADERS_TIMEOUT', 'Headers Timeout Error'), NOW)[0]).toMatchObject({ kind: 'retry' });
    expect(t.classify(req, { error: new Error('aborted') }, NOW)[0]!.kind).toBe('retry');
  });
});

describe('http target: batch answers', () => {
  const t = createHttpTarget({ url: 'http://127.0.0.1:9/v1/charges', batch: true });
  const items = [item({ a: 1 }), item({ a: 2 }), item({ a: 3 })];
  const req = t.buildRequests(items).requests[0]!;

  it('reads per-item results when the answer has one per element', () => {
    const body = { results: [{ status: 201, id: 'c1' }, { status: 409, id: 'c0' }, { status: 400, error: 'not_an_object' }] };
    expect(t.classify(req, answer(200, body), NOW)).toEqual([
      { kind: 'delivered', status: 201, targetId: 'c1' },
      { kind: 'delivered', status: 409, duplicate: true, targetId: 'c0' },
      { kind: 'permanent', status: 400, reason: 'item refused with status 400', answer: '{"status":400,"error":"not_an_object"}' },
    ]);
  });

  it('a 2xx without per-item results delivers all', () => {
    expect(t.classify(req, answer(200, { ok: true }), NOW)).toEqual(items.map(() => ({ kind: 'delivered', status: 200 })));
  });

  it('a 4xx on a batch isolates every item: each is sent alone to find the bad one', () => {
    const outcomes = t.classify(req, answer(400, 'bad'), NOW);
    expect(outcomes).toHaveLength(3);
    for (const o of outcomes) expect(o).toMatchObject({ kind: 'retry', status: 400, isolate: true, retryAfterMs: 0 });
  });

  it('5xx retries all', () => {
    expect(t.classify(req, answer(502), NOW).every((o) => o.kind === 'retry' && !o.isolate)).toBe(true);
  });
});
