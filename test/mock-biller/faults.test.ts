import { afterEach, describe, expect, it } from 'vitest';
import { OptionsError } from '../../src/errors.js';
import { checkFaults, createMockBiller, seededRandom } from '../../src/mock-biller/index.js';
import { startBiller } from './helpers.js';
import type { Running } from './helpers.js';

const started: Running[] = [];
async function biller(...args: Parameters<typeof startBiller>): Promise<Running> {
  const mb = await startBiller(...args);
  started.push(mb);
  return mb;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((mb) => mb.stop()));
});

const charge = (k: string) => ({ idempotency_key: k, quantity: 1 });

describe('mock biller faults', () => {
  it('failureRate answers 500 and stores nothing', async () => {
    const mb = await biller({ faults: { failureRate: 1 } });
    const res = await mb.post('/v1/charges', charge('f1'));
    expect(res.status).toBe(500);
    const report = mb.biller.received();
    expect(report.endpoints.charges).toMatchObject({ distinct: 0, items: [], requests: 1 });
    expect(report.faults.failure).toBe(1);
  });

  it('the same seed gives the same faults, request for request', async () => {
    const pattern = async (seed: number) => {
      const mb = await biller({ seed, faults: { failureRate: 0.5 } });
      const out: number[] = [];
      for (let i = 0; i < 24; i++) out.push((await mb.post('/v1/charges', charge(`s${i}`))).status);
      return out;
    };
    const a = await pattern(42);
    const b = await pattern(42);
    const c = await pattern(7);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a).toContain(500);
    expect(a).toContain(201);
  });

  it('timeoutRate never answers: the client times out, nothing is stored, close() still returns', async () => {
    const mb = await biller({ faults: { timeoutRate: 1 } });
    const error = await mb.call('POST', '/v1/charges', charge('t1'), {}, 150).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(mb.biller.received()).toMatchObject({ endpoints: { charges: { distinct: 0 } }, faults: { timeout: 1 } });
  });

  it('timeoutDelayMs answers a timed-out request late with 504, still without storing', async () => {
    const mb = await biller({ faults: { timeoutRate: 1, timeoutDelayMs: 80 } });
    const t0 = performance.now();
    const res = await mb.post('/v1/charges', charge('t2'));
    expect(res.status).toBe(504);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(70);
    expect(mb.biller.received().endpoints.charges.distinct).toBe(0);
  });

  it('latencyMs delays every billing answer', async () => {
    const mb = await biller({ faults: { latencyMs: 60 } });
    const t0 = performance.now();
    expect((await mb.post('/v1/charges', charge('l1'))).status).toBe(201);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(50);
  });

  it('counts Stripe requests that arrive while another for the same customer and meter is unanswered', async () => {
    const mb = await biller({ faults: { latencyMs: 80 } });
    const form = (id: string, customer: string, meter = 'voice') =>
      new URLSearchParams({ event_name: meter, identifier: id, 'payload[stripe_customer_id]': customer, 'payload[value]': '1' }).toString();
    const post = (body: string) => mb.call('POST', '/v1/billing/meter_events', body, { 'content-type': 'application/x-www-form-urlencoded' });
    // Two at once for cus_1/voice: one overlaps. cus_2, and cus_1 on another meter, overlap nothing.
    const answers = await Promise.all([post(form('a', 'cus_1')), post(form('b', 'cus_1')), post(form('c', 'cus_2')), post(form('d', 'cus_1', 'sms'))]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(mb.biller.received().endpoints.stripe).toMatchObject({ distinct: 4, requests: 4, overlapping: 1 });
    // One after the other: nothing more.
    await post(form('e', 'cus_1'));
    await post(form('f', 'cus_1'));
    expect(mb.biller.received().endpoints.stripe.overlapping).toBe(1);
    const reset = await mb.call('DELETE', '/received');
    expect(reset.status).toBe(204);
    expect(mb.biller.received().endpoints.stripe.overlapping).toBe(0);
  });

  it('burst429 answers the next N requests 429 with Retry-After, then recovers', async () => {
    const mb = await biller();
    mb.biller.setFaults({ burst429: { count: 2, retryAfterS: 3 } });
    const first = await mb.post('/v1/charges', charge('b1'));
    expect(first.status).toBe(429);
    expect(first.headers['retry-after']).toBe('3');
    expect((await mb.post('/v1/charges', charge('b1'))).status).toBe(429);
    expect((await mb.post('/v1/charges', charge('b1'))).status).toBe(201);
    expect(mb.biller.received()).toMatchObject({ endpoints: { charges: { distinct: 1, duplicates: 0 } }, faults: { burst429: 2 } });
  });

  it('outageSeconds answers 503 to everything for N seconds from when it was set', async () => {
    let now = Date.parse('2026-11-25T10:00:00Z');
    const mb = await biller({ now: () => now });
    mb.biller.setFaults({ outageSeconds: 10 });
    const down = await mb.post('/api/v1/events', { event: { transaction_id: 'x', code: 'c' } });
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toBe('10');
    now += 4_000;
    const still = await mb.post('/v1/charges', charge('o1'));
    expect(still.status).toBe(503);
    expect(still.headers['retry-after']).toBe('6');
    now += 6_000;
    expect((await mb.post('/v1/charges', charge('o1'))).status).toBe(201);
    expect(mb.biller.received().faults.outage).toBe(2);
  });

  it('failAfterStoreRate stores the item and answers 500: the resend is recognised as a duplicate', async () => {
    const mb = await biller({ faults: { failAfterStoreRate: 1 } });
    expect((await mb.post('/v1/charges', charge('s1'))).status).toBe(500);
    expect(mb.biller.received().endpoints.charges.distinct).toBe(1);
    mb.biller.setFaults({});
    expect((await mb.post('/v1/charges', charge('s1'))).status).toBe(409);
    expect(mb.biller.received()).toMatchObject({ endpoints: { charges: { distinct: 1, duplicates: 1 } }, faults: { failAfterStore: 1 } });
  });

  it('faults are set, read and cleared over HTTP; bad ones are refused by name', async () => {
    const mb = await biller();
    const set = await mb.post('/faults', { failureRate: 0.25, burst429: { count: 1 } });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({ failureRate: 0.25, burst429: { count: 1, retryAfterS: 1 }, burst429Left: 1 });
    expect((await mb.call('GET', '/faults')).json).toMatchObject({ failureRate: 0.25 });
    const bad = await mb.post('/faults', { failureRate: 2 });
    expect(bad.status).toBe(400);
    expect((await mb.post('/faults', { explode: true })).json.message).toMatch(/unknown option "explode"/);
    expect((await mb.call('DELETE', '/faults')).status).toBe(204);
    expect((await mb.call('GET', '/faults')).json).toEqual({ burst429Left: 0, outageLeftMs: 0 });
  });

  it('faults never touch the admin routes', async () => {
    const mb = await biller({ faults: { failureRate: 1, outageSeconds: 60 } });
    expect((await mb.call('GET', '/received')).status).toBe(200);
    expect((await mb.call('GET', '/health')).status).toBe(200);
  });
});

describe('mock biller lifecycle and options', () => {
  it('close() is idempotent and works before listen', async () => {
    const b = createMockBiller();
    await b.close();
    await b.close();
    const c = createMockBiller();
    await c.listen(0);
    await Promise.all([c.close(), c.close()]);
  });

  it('keepItems: false keeps counts, not items', async () => {
    const mb = await biller({ keepItems: false });
    await mb.post('/v1/charges', charge('k1'));
    expect(mb.biller.received().endpoints.charges).toMatchObject({ items: [], distinct: 1 });
  });

  it('rejects unknown options and faults by name', () => {
    expect(() => createMockBiller({ port: 1 } as never)).toThrow(OptionsError);
    expect(() => checkFaults({ burst429: { count: 1.5 } })).toThrow(/burst429.count/);
    expect(() => checkFaults({ latencyMs: -1 })).toThrow(/latencyMs/);
  });

  it('seededRandom is deterministic and in [0, 1)', () => {
    const a = seededRandom(9);
    const b = seededRandom(9);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});
