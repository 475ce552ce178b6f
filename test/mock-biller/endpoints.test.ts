import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FORM, form, startBiller } from './helpers.js';
import type { Running } from './helpers.js';

const NOW = Date.parse('2026-11-25T10:00:00Z');
const NOW_S = NOW / 1000;
let mb: Running;

beforeAll(async () => {
  mb = await startBiller({ now: () => NOW, apiKeys: { lago: 'lago_key', stripe: 'sk_test_1' } });
});
afterEach(() => mb.biller.reset());
afterAll(() => mb.stop());

const LAGO = { authorization: 'Bearer lago_key' };
const STRIPE = { ...FORM, authorization: 'Bearer sk_test_1' };
const lagoEvent = (n: number | string, over: Record<string, unknown> = {}) => ({
  transaction_id: `tx-${n}`,
  external_subscription_id: 'sub_1',
  code: 'voice_out',
  timestamp: NOW_S - 60,
  properties: { quantity: 3 },
  ...over,
});
const cloudEvent = (id: string, over: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id,
  source: 'urn:s',
  type: 'sms.sent',
  subject: 'acme',
  time: '2026-11-25T10:00:00Z',
  data: { quantity: 1 },
  ...over,
});
const meterEvent = (identifier: string, over: Record<string, string> = {}) =>
  form({ event_name: 'voice_out', identifier, timestamp: String(NOW_S - 60), 'payload[stripe_customer_id]': 'cus_1', 'payload[value]': '3', ...over });

describe('POST /v1/charges (generic)', () => {
  it('stores a single object once: 201, then 409 with the same id', async () => {
    const first = await mb.post('/v1/charges', { idempotency_key: 'k1', quantity: 3 });
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ id: expect.any(String), status: 'created' });
    const again = await mb.post('/v1/charges', { idempotency_key: 'k1', quantity: 3 });
    expect(again.status).toBe(409);
    expect(again.json).toEqual({ error: 'duplicate', id: first.json.id });
    expect(mb.biller.received().endpoints.charges).toMatchObject({ items: [{ idempotency_key: 'k1', quantity: 3 }], distinct: 1, duplicates: 1, requests: 2 });
  });

  it('falls back to the Idempotency-Key header', async () => {
    expect((await mb.post('/v1/charges', { q: 1 }, { 'idempotency-key': 'h1' })).status).toBe(201);
    expect((await mb.post('/v1/charges', { q: 1 }, { 'idempotency-key': 'h1' })).status).toBe(409);
  });

  it('answers an array with one result per element', async () => {
    await mb.post('/v1/charges', { idempotency_key: 'a' });
    const res = await mb.post('/v1/charges', [{ idempotency_key: 'a' }, { idempotency_key: 'b' }, 'junk']);
    expect(res.status).toBe(200);
    expect(res.json.results).toEqual([
      { status: 409, id: expect.any(String), error: 'duplicate' },
      { status: 201, id: expect.any(String) },
      { status: 400, error: 'not_an_object' },
    ]);
    expect(mb.biller.received().endpoints.charges).toMatchObject({ distinct: 2, duplicates: 1 });
  });

  it('400 on JSON it cannot read', async () => {
    expect((await mb.post('/v1/charges', '{nope')).status).toBe(400);
  });
});

describe('Lago', () => {
  it('needs the API key', async () => {
    const res = await mb.post('/api/v1/events', { event: lagoEvent(1) });
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ status: 401, error: 'Unauthorized' });
  });

  it('POST /api/v1/events stores an event and answers it back with a lago_id', async () => {
    const res = await mb.post('/api/v1/events', { event: lagoEvent(1) }, LAGO);
    expect(res.status).toBe(200);
    expect(res.json.event).toMatchObject({ lago_id: expect.any(String), transaction_id: 'tx-1', code: 'voice_out', external_subscription_id: 'sub_1' });
    expect(res.json.event.timestamp).toBe(new Date((NOW_S - 60) * 1000).toISOString());
  });

  it('a repeated transaction_id is 422 value_already_exist, in Lago error shape', async () => {
    await mb.post('/api/v1/events', { event: lagoEvent(1) }, LAGO);
    const res = await mb.post('/api/v1/events', { event: lagoEvent(1) }, LAGO);
    expect(res.status).toBe(422);
    expect(res.json).toEqual({ status: 422, error: 'Unprocessable Entity', code: 'validation_errors', error_details: { transaction_id: ['value_already_exist'] } });
    expect(mb.biller.received().endpoints.lago).toMatchObject({ distinct: 1, duplicates: 1 });
  });

  it('validates like Lago: missing param 400, invalid fields 422', async () => {
    expect((await mb.post('/api/v1/events', { nope: 1 }, LAGO)).json).toEqual({ status: 400, error: 'BadRequest: param is missing or the value is empty: event' });
    const res = await mb.post('/api/v1/events', { event: { transaction_id: '', timestamp: 'yesterday' } }, LAGO);
    expect(res.status).toBe(422);
    expect(res.json.error_details).toEqual({ transaction_id: ['value_is_mandatory'], code: ['value_is_mandatory'], timestamp: ['invalid_format'] });
  });

  it('POST /api/v1/events/batch stores all or nothing; errors are keyed by index', async () => {
    await mb.post('/api/v1/events', { event: lagoEvent('dup') }, LAGO);
    const refused = await mb.post('/api/v1/events/batch', { events: [lagoEvent('a'), lagoEvent('b', { code: '' }), lagoEvent('dup')] }, LAGO);
    expect(refused.status).toBe(422);
    expect(refused.json).toEqual({
      status: 422,
      error: 'Unprocessable Entity',
      code: 'validation_errors',
      error_details: { '1': { code: ['value_is_mandatory'] }, '2': { transaction_id: ['value_already_exist'] } },
    });
    expect(mb.biller.received().endpoints.lago.distinct).toBe(1);
    const ok = await mb.post('/api/v1/events/batch', { events: [lagoEvent('a'), lagoEvent('b')] }, LAGO);
    expect(ok.status).toBe(200);
    expect(ok.json.events.map((e: { transaction_id: string }) => e.transaction_id)).toEqual(['tx-a', 'tx-b']);
    expect(mb.biller.received().endpoints.lago.distinct).toBe(3);
  });

  it('a batch over 100 events or empty is refused as a whole', async () => {
    const many = Array.from({ length: 101 }, (_, n) => lagoEvent(n));
    expect((await mb.post('/api/v1/events/batch', { events: many }, LAGO)).json.error_details).toEqual({ events: ['too_many_events'] });
    expect((await mb.post('/api/v1/events/batch', { events: [] }, LAGO)).json.error_details).toEqual({ events: ['no_events'] });
  });

  it('also answers under the /lago prefix', async () => {
    expect((await mb.post('/lago/api/v1/events', { event: lagoEvent('p') }, LAGO)).status).toBe(200);
  });
});

describe('OpenMeter', () => {
  const ce = { 'content-type': 'application/cloudevents+json' };
  const batch = { 'content-type': 'application/cloudevents-batch+json' };

  it('204 to a new event and to a duplicate (same id and source); a different source is another event', async () => {
    expect((await mb.post('/api/v1/events', cloudEvent('e1'), ce)).status).toBe(204);
    expect((await mb.post('/api/v1/events', cloudEvent('e1'), ce)).status).toBe(204);
    expect((await mb.post('/api/v1/events', cloudEvent('e1', { source: 'urn:other' }), ce)).status).toBe(204);
    expect(mb.biller.received().endpoints.openmeter).toMatchObject({ distinct: 2, duplicates: 1, requests: 3 });
  });

  it('takes a batch as application/cloudevents-batch+json', async () => {
    expect((await mb.post('/api/v1/events', [cloudEvent('b1'), cloudEvent('b2'), cloudEvent('b1')], batch)).status).toBe(204);
    expect(mb.biller.received().endpoints.openmeter).toMatchObject({ distinct: 2, duplicates: 1 });
  });

  it('an invalid event refuses the whole request with a problem+json 400', async () => {
    const res = await mb.post('/api/v1/events', [cloudEvent('ok'), cloudEvent('bad', { subject: '' })], batch);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.json).toMatchObject({ status: 400, title: 'Bad Request', detail: expect.stringContaining('subject') });
    expect(mb.biller.received().endpoints.openmeter.distinct).toBe(0);
  });

  it('plain JSON goes to OpenMeter under the /openmeter prefix; other content types are 415', async () => {
    expect((await mb.post('/openmeter/api/v1/events', cloudEvent('j1'))).status).toBe(204);
    expect((await mb.post('/openmeter/api/v1/events', 'x', { 'content-type': 'text/plain' })).status).toBe(415);
  });
});

describe('Stripe', () => {
  it('needs the API key', async () => {
    const res = await mb.post('/v1/billing/meter_events', meterEvent('m0'), FORM);
    expect(res.status).toBe(401);
    expect(res.json.error.type).toBe('invalid_request_error');
  });

  it('stores a meter event and answers the meter event object', async () => {
    const res = await mb.post('/v1/billing/meter_events', meterEvent('m1'), STRIPE);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      object: 'billing.meter_event',
      created: NOW_S,
      livemode: false,
      event_name: 'voice_out',
      identifier: 'm1',
      timestamp: NOW_S - 60,
      payload: { stripe_customer_id: 'cus_1', value: '3' },
    });
    expect(mb.biller.received().endpoints.stripe.items).toEqual([
      { event_name: 'voice_out', identifier: 'm1', timestamp: String(NOW_S - 60), payload: { stripe_customer_id: 'cus_1', value: '3' } },
    ]);
  });

  it('a repeated identifier is a 400 "An event already exists with identifier ..."', async () => {
    await mb.post('/v1/billing/meter_events', meterEvent('m2'), STRIPE);
    const res = await mb.post('/v1/billing/meter_events', meterEvent('m2'), STRIPE);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: { type: 'invalid_request_error', message: 'An event already exists with identifier m2.' } });
    expect(mb.biller.received().endpoints.stripe).toMatchObject({ distinct: 1, duplicates: 1 });
  });

  it('the same Idempotency-Key replays the first answer; with other parameters it is an idempotency_error', async () => {
    const headers = { ...STRIPE, 'idempotency-key': 'idem-1' };
    const first = await mb.post('/v1/billing/meter_events', meterEvent('m3'), headers);
    const replay = await mb.post('/v1/billing/meter_events', meterEvent('m3'), headers);
    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json).toEqual(first.json);
    const other = await mb.post('/v1/billing/meter_events', meterEvent('m4'), headers);
    expect(other.status).toBe(400);
    expect(other.json.error.type).toBe('idempotency_error');
    expect(mb.biller.received().endpoints.stripe).toMatchObject({ distinct: 1, duplicates: 1 });
  });

  it('validates: missing params, whole-number value, the timestamp window, unknown params', async () => {
    const missing = await mb.post('/v1/billing/meter_events', form({ event_name: 'x', 'payload[value]': '1' }), STRIPE);
    expect(missing.json.error).toMatchObject({ code: 'parameter_missing', param: 'payload[stripe_customer_id]' });
    const fraction = await mb.post('/v1/billing/meter_events', meterEvent('v', { 'payload[value]': '1.5' }), STRIPE);
    expect(fraction.json.error.param).toBe('payload[value]');
    const old = await mb.post('/v1/billing/meter_events', meterEvent('o', { timestamp: String(NOW_S - 35 * 86400 - 1) }), STRIPE);
    expect(old.json.error.message).toMatch(/past 35 days/);
    const ahead = await mb.post('/v1/billing/meter_events', meterEvent('f', { timestamp: String(NOW_S + 301) }), STRIPE);
    expect(ahead.status).toBe(400);
    const unknown = await mb.post('/v1/billing/meter_events', meterEvent('u') + '&foo=1', STRIPE);
    expect(unknown.json.error.message).toBe('Received unknown parameter: foo');
    expect(mb.biller.received().endpoints.stripe.distinct).toBe(0);
  });
});

describe('admin routes', () => {
  it('GET /received reports per endpoint; ?items=false leaves the items out; DELETE /received forgets', async () => {
    await mb.post('/v1/charges', { idempotency_key: 'r1' });
    const full = await mb.call('GET', '/received');
    expect(full.json.endpoints.charges).toMatchObject({ items: [{ idempotency_key: 'r1' }], distinct: 1, duplicates: 0, requests: 1 });
    expect(Object.keys(full.json.endpoints)).toEqual(['charges', 'lago', 'openmeter', 'stripe']);
    expect(full.json.faults).toEqual({ outage: 0, burst429: 0, timeout: 0, failure: 0, failAfterStore: 0 });
    expect((await mb.call('GET', '/received?items=false')).json.endpoints.charges.items).toEqual([]);
    expect((await mb.call('DELETE', '/received')).status).toBe(204);
    expect((await mb.call('GET', '/received')).json.endpoints.charges.distinct).toBe(0);
    expect((await mb.post('/v1/charges', { idempotency_key: 'r1' })).status).toBe(201);
  });

  it('unknown routes are 404, wrong methods on billing routes too', async () => {
    expect((await mb.call('GET', '/v1/charges')).status).toBe(404);
    expect((await mb.post('/nope', {})).status).toBe(404);
    expect((await mb.call('GET', '/health')).json).toEqual({ ok: true });
  });
});
