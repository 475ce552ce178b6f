import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createStripeTarget } from '../../src/forwarder/targets/stripe.js';
import { answer, decodeForm, item, netError } from './helpers.js';

const NOW = Date.parse('2026-11-25T10:00:00Z');
const NOW_S = NOW / 1000;
const mev = (over: Record<string, unknown> = {}, payload: Record<string, unknown> = {}) => ({
  event_name: 'voice_out',
  identifier: 'urn:t:1',
  timestamp: NOW_S - 60,
  payload: { stripe_customer_id: 'cus_acme001', value: '3', ...payload },
  ...over,
});

describe('stripe target: requests', () => {
  const t = createStripeTarget({ apiKey: 'sk_test_abc', stripeVersion: '2025-03-31.basil' });

  it('form-encodes one event per request with bearer auth, idempotency key and version', () => {
    const i = item(mev({}, { value: 3 }), { source: 'urn:t', id: '1' });
    const { requests, refused } = t.buildRequests([i], NOW);
    expect(refused).toEqual([]);
    const req = requests[0]!;
    expect(req.origin).toBe('https://api.stripe.com');
    expect(req.path).toBe('/v1/billing/meter_events');
    expect(req.headers).toEqual({
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Bearer sk_test_abc',
      'stripe-version': '2025-03-31.basil',
      'idempotency-key': 'urn:t:1',
    });
    expect(req.body).toBe(
      `event_name=voice_out&identifier=urn%3At%3A1&timestamp=${NOW_S - 60}&payload%5Bstripe_customer_id%5D=cus_acme001&payload%5Bvalue%5D=3`,
    );
    expect(t.maxBatch).toBe(1);
    expect(t.buildRequests([item(mev()), item(mev())], NOW).requests).toHaveLength(2);
  });

  it('uses the item key as identifier when the mapping gives none, and hashes one over 100 characters', () => {
    const noId = item(mev({ identifier: undefined }), { source: 'urn:s', id: '7' });
    expect(decodeForm(t.buildRequests([noId], NOW).requests[0]!.body).identifier).toBe('urn:s:7');
    const long = 'x'.repeat(101);
    const body = decodeForm(t.buildRequests([item(mev({ identifier: long }))], NOW).requests[0]!.body);
    expect(body.identifier).toBe(`h_${createHash('sha256').update(long).digest('base64url')}`);
    expect((body.identifier as string).length).toBeLessThanOrEqual(100);
  });

  it('refuses, without sending, a row outside 35 days back / 5 minutes ahead', () => {
    const old = item(mev({ timestamp: NOW_S - 35 * 86400 - 1 }));
    const edge = item(mev({ timestamp: NOW_S - 35 * 86400 }));
    const ahead = item(mev({ timestamp: NOW_S + 301 }));
    const near = item(mev({ timestamp: NOW_S + 300 }));
    const { requests, refused } = t.buildRequests([old, edge, ahead, near], NOW);
    expect(requests.map((r) => r.items[0])).toEqual([edge, near]);
    expect(refused.map((r) => r.item)).toEqual([old, ahead]);
    expect(refused[0]!.outcome.reason).toMatch(/more than 35 days in the past/);
    expect(refused[1]!.outcome.reason).toMatch(/more than 5 minutes in the future/);
  });

  it('refuses values that are not whole numbers and missing customers', () => {
    const { refused } = t.buildRequests(
      [item(mev({}, { value: 1.5 })), item(mev({}, { value: '2.0' })), item(mev({}, { stripe_customer_id: undefined })), item(mev({ extra: 1 }))],
      NOW,
    );
    expect(refused.map((r) => r.outcome.reason)).toEqual([
      'not a valid Stripe meter event: payload.value must be a whole number',
      'not a valid Stripe meter event: payload.value must be a whole number',
      'not a valid Stripe meter event: payload.stripe_customer_id must be a non-empty string',
      'not a valid Stripe meter event: unknown field "extra" (Stripe refuses unknown parameters)',
    ]);
  });

  it('keyFor serialises per customer and meter', () => {
    expect(t.keyFor!(item(mev()))).toBe(t.keyFor!(item(mev({ identifier: 'other' }))));
    expect(t.keyFor!(item(mev()))).not.toBe(t.keyFor!(item(mev({ event_name: 'sms' }))));
    expect(t.keyFor!(item(mev()))).not.toBe(t.keyFor!(item(mev({}, { stripe_customer_id: 'cus_other' }))));
    const odd = item('not an object');
    expect(t.keyFor!(odd)).toBe(odd.idempotencyKey);
  });
});

describe('stripe target: answers', () => {
  const t = createStripeTarget({ apiKey: 'sk_test_abc' });
  const req = t.buildRequests([item(mev())], NOW).requests[0]!;
  const stripeError = (message: string, type = 'invalid_request_error') => ({ error: { type, message } });

  it('200 is delivered; an idempotent replay is a duplicate', () => {
    const ok = { object: 'billing.meter_event', identifier: 'urn:t:1', event_name: 'voice_out' };
    expect(t.classify(req, answer(200, ok), NOW)).toEqual([{ kind: 'delivered', status: 200, targetId: 'urn:t:1' }]);
    expect(t.classify(req, answer(200, ok, { 'idempotent-replayed': 'true' }), NOW)[0]).toMatchObject({ duplicate: true });
  });

  it('400 "An event already exists with identifier" is delivered, duplicate', () => {
    expect(t.classify(req, answer(400, stripeError('An event already exists with identifier urn:t:1.')), NOW)).toEqual([
      { kind: 'delivered', status: 400, duplicate: true },
    ]);
  });

  it('other 400s, 401, 404 are permanent with Stripe message', () => {
    const [o] = t.classify(req, answer(400, stripeError('No active meter found for event_name voice_out')), NOW);
    expect(o).toMatchObject({ kind: 'permanent', status: 400, reason: expect.stringContaining('No active meter') });
    expect(t.classify(req, answer(401, stripeError('Invalid API Key provided')), NOW)[0]!.kind).toBe('permanent');
    expect(t.classify(req, answer(404, stripeError('Unrecognized request URL')), NOW)[0]!.kind).toBe('permanent');
  });

  it('409 (same idempotency key in flight) and 429/5xx/no answer retry', () => {
    expect(t.classify(req, answer(409, stripeError('idempotency_key_in_use', 'idempotency_error')), NOW)[0]).toMatchObject({
      kind: 'retry',
      status: 409,
      retryAfterMs: 1000,
    });
    expect(t.classify(req, answer(429, stripeError('Too many requests', 'rate_limit_error')), NOW)[0]!.kind).toBe('retry');
    expect(t.classify(req, answer(500), NOW)[0]!.kind).toBe('retry');
    expect(t.classify(req, netError('ECONNRESET'), NOW)[0]!.kind).toBe('retry');
  });
});
