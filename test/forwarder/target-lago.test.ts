import { describe, expect, it } from 'vitest';
import { LAGO_MAX_BATCH, createLagoTarget } from '../../src/forwarder/targets/lago.js';
import { answer, item, netError } from './helpers.js';

const NOW = Date.parse('2026-11-25T10:00:00Z');
const ev = (n: number | string, over: Record<string, unknown> = {}) => ({
  transaction_id: `urn:t:${n}`,
  external_subscription_id: 'sub_acme_001',
  code: 'voice_out',
  timestamp: 1795600800,
  properties: { quantity: 3, unit: 'minute' },
  ...over,
});
const lago422 = (error_details: unknown) => answer(422, { status: 422, error: 'Unprocessable Entity', code: 'validation_errors', error_details });

describe('lago target: requests', () => {
  const t = createLagoTarget({ apiKey: 'key_1', apiUrl: 'https://lago.example.com/selfhosted/' });

  it('one item goes to /api/v1/events as {event}, with the base path and bearer auth', () => {
    const i = item(ev(1));
    const [req] = t.buildRequests([i]).requests;
    expect(req).toEqual({
      method: 'POST',
      origin: 'https://lago.example.com',
      path: '/selfhosted/api/v1/events',
      headers: { 'content-type': 'application/json', authorization: 'Bearer key_1' },
      body: JSON.stringify({ event: ev(1) }),
      items: [i],
    });
  });

  it('several go to /api/v1/events/batch as {events}, at most 100 per request', () => {
    const items = Array.from({ length: 230 }, (_, n) => item(ev(n)));
    const { requests } = t.buildRequests(items);
    expect(requests.map((r) => r.items.length)).toEqual([100, 100, 30]);
    expect(requests.every((r) => r.path === '/selfhosted/api/v1/events/batch')).toBe(true);
    expect(JSON.parse(requests[2]!.body).events).toHaveLength(30);
    expect(t.maxBatch).toBe(LAGO_MAX_BATCH);
  });

  it('refuses events Lago would refuse, so one bad row never sinks a batch', () => {
    const bad = [
      item({ code: 'x' }),
      item(ev(2, { code: '' })),
      item(ev(3, { timestamp: 1.5 })),
      item(ev(4, { properties: { quantity: { n: 1 } } })),
      item('text'),
    ];
    const good = item(ev(9));
    const { requests, refused } = t.buildRequests([...bad, good]);
    expect(refused.map((r) => r.item)).toEqual(bad);
    expect(refused.map((r) => r.outcome.reason)).toEqual([
      'not a valid Lago event: transaction_id must be a non-empty string',
      'not a valid Lago event: code must be a non-empty string',
      'not a valid Lago event: timestamp must be whole unix seconds (a number) or a string',
      'not a valid Lago event: properties.quantity must be a string or a number',
      'not a valid Lago event: the mapping output is not an object',
    ]);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.items).toEqual([good]);
  });

  it('batch: false sends one event per request; batchSize over 100 is refused', () => {
    const single = createLagoTarget({ apiKey: 'k', batch: false });
    expect(single.buildRequests([item(ev(1)), item(ev(2))]).requests.map((r) => r.path)).toEqual(['/api/v1/events', '/api/v1/events']);
    expect(() => createLagoTarget({ apiKey: 'k', batchSize: 101 })).toThrow(/at most 100/);
    expect(() => createLagoTarget({} as never)).toThrow(/apiKey/);
  });
});

describe('lago target: answers to one event', () => {
  const t = createLagoTarget({ apiKey: 'k' });
  const req = t.buildRequests([item(ev(1))]).requests[0]!;

  it('200 is delivered with lago_id', () => {
    expect(t.classify(req, answer(200, { event: { lago_id: 'lg-1', transaction_id: 'urn:t:1' } }), NOW)).toEqual([
      { kind: 'delivered', status: 200, targetId: 'lg-1' },
    ]);
  });

  it('422 transaction_id value_already_exist is delivered, duplicate', () => {
    expect(t.classify(req, lago422({ transaction_id: ['value_already_exist'] }), NOW)).toEqual([{ kind: 'delivered', status: 422, duplicate: true }]);
    expect(t.classify(req, lago422({ transaction_id: ['value_is_missing_or_already_exists'] }), NOW)[0]).toMatchObject({ duplicate: true });
  });

  it('another 422 is permanent with the details', () => {
    const [o] = t.classify(req, lago422({ code: ['value_is_mandatory'] }), NOW);
    expect(o).toMatchObject({ kind: 'permanent', status: 422, reason: expect.stringContaining('value_is_mandatory') });
  });

  it('404 (subscription or metric not found) is permanent; 429/5xx/no answer retry', () => {
    expect(t.classify(req, answer(404, { status: 404, error: 'Not Found', code: 'subscription_not_found' }), NOW)[0]!.kind).toBe('permanent');
    expect(t.classify(req, answer(429, '', { 'retry-after': '2' }), NOW)[0]).toMatchObject({ kind: 'retry', retryAfterMs: 2000 });
    expect(t.classify(req, answer(500), NOW)[0]!.kind).toBe('retry');
    expect(t.classify(req, netError('ECONNRESET'), NOW)[0]!.kind).toBe('retry');
  });
});

describe('lago target: a refused batch', () => {
  const t = createLagoTarget({ apiKey: 'k' });
  const items = [item(ev(0)), item(ev(1)), item(ev(2)), item(ev(3))];
  const req = t.buildRequests(items).requests[0]!;

  it('names the bad events by index: those are permanent, duplicates delivered, the rest sent again at once', () => {
    const outcomes = t.classify(req, lago422({ '1': { code: ['value_is_invalid'] }, '3': { transaction_id: ['value_already_exist'] } }), NOW);
    expect(outcomes).toEqual([
      { kind: 'retry', status: 422, retryAfterMs: 0, collateral: true, reason: 'batch refused because of other events in it' },
      { kind: 'permanent', status: 422, reason: expect.stringContaining('event 1 of the batch'), answer: expect.any(String) },
      { kind: 'retry', status: 422, retryAfterMs: 0, collateral: true, reason: 'batch refused because of other events in it' },
      { kind: 'delivered', status: 422, duplicate: true },
    ]);
  });

  it('without per-index details (too_many_events) every item is isolated', () => {
    const outcomes = t.classify(req, lago422({ events: ['too_many_events'] }), NOW);
    expect(outcomes.every((o) => o.kind === 'retry' && o.isolate === true)).toBe(true);
  });

  it('a 2xx batch answer gives each item its lago_id', () => {
    const body = { events: items.map((_, n) => ({ lago_id: `lg-${n}` })) };
    expect(t.classify(req, answer(200, body), NOW).map((o) => o.kind === 'delivered' && o.targetId)).toEqual(['lg-0', 'lg-1', 'lg-2', 'lg-3']);
  });
});
