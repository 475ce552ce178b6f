/**
 * The presets against the mock biller on loopback, with undici, the way the forwarder will use them:
 * mapping output → buildRequests → send → classify. Proves the "already delivered" answers line up.
 */
import { Agent, request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHttpTarget, createLagoTarget, createOpenMeterTarget, createStripeTarget } from '../../src/forwarder/targets/index.js';
import type { ItemOutcome, OutboxItem, TargetAdapter } from '../../src/forwarder/targets/index.js';
import { createMockBiller } from '../../src/mock-biller/index.js';
import type { MockBiller } from '../../src/mock-biller/index.js';
import { customers, record, runMapping, sampleData } from './helpers.js';
import type { RecordType } from './helpers.js';

const NOW = Date.parse('2026-11-25T10:02:00Z');
let biller: MockBiller;
let url: string;
const agent = new Agent();

beforeAll(async () => {
  biller = createMockBiller({ now: () => NOW, apiKeys: { lago: 'lago_key', stripe: 'sk_test_1' } });
  ({ url } = await biller.listen(0, '127.0.0.1'));
});
beforeEach(() => {
  biller.reset();
  biller.setFaults({});
});
afterAll(async () => {
  await biller.close();
  await agent.close();
});

async function deliver(adapter: TargetAdapter, items: OutboxItem[]): Promise<Map<string, ItemOutcome>> {
  const outcomes = new Map<string, ItemOutcome>();
  const { requests, refused } = adapter.buildRequests(items, NOW);
  for (const r of refused) outcomes.set(r.item.rowId, r.outcome);
  for (const req of requests) {
    let got: Parameters<TargetAdapter['classify']>[1];
    try {
      const res = await request(`${req.origin}${req.path}`, { method: req.method, headers: req.headers, body: req.body, dispatcher: agent });
      got = { status: res.statusCode, headers: res.headers, body: await res.body.text() };
    } catch (error) {
      got = { error: error as Error };
    }
    adapter.classify(req, got, NOW).forEach((o, i) => outcomes.set(req.items[i]!.rowId, o));
  }
  return outcomes;
}

async function items(target: string, type: RecordType, ids: string[]): Promise<OutboxItem[]> {
  const out: OutboxItem[] = [];
  for (const id of ids) {
    const rec = record(type, sampleData[type], { id });
    const output = await runMapping(target, rec, { customer: customers.acme, now: new Date(NOW).toISOString(), annotations: {} });
    out.push({ rowId: `${target}-${id}`, source: String(rec.source), id, idempotencyKey: `${String(rec.source)}:${id}`, output, attempt: 1 });
  }
  return out;
}

const kinds = (m: Map<string, ItemOutcome>) => [...m.values()].map((o) => (o.kind === 'delivered' && o.duplicate ? 'duplicate' : o.kind));

describe('presets against the mock biller', () => {
  it('http: a store-then-500 is retried and then recognised as delivered (duplicate)', async () => {
    const adapter = createHttpTarget({ url: `${url}/v1/charges` });
    const one = [{ rowId: 'h1', source: 'urn:s', id: '1', idempotencyKey: 'urn:s:1', output: { idempotency_key: 'urn:s:1', quantity: 3 }, attempt: 1 }];
    biller.setFaults({ failAfterStoreRate: 1 });
    expect(kinds(await deliver(adapter, one))).toEqual(['retry']);
    biller.setFaults({});
    expect(kinds(await deliver(adapter, one))).toEqual(['duplicate']);
    expect(biller.received().endpoints.charges.distinct).toBe(1);
  });

  it('http batch: per-item results come back per row', async () => {
    const adapter = createHttpTarget({ url: `${url}/v1/charges`, batch: true });
    const rows = ['a', 'b'].map((id) => ({ rowId: id, source: 's', id, idempotencyKey: `s:${id}`, output: { idempotency_key: `s:${id}` }, attempt: 1 }));
    await deliver(adapter, rows.slice(0, 1));
    expect(kinds(await deliver(adapter, rows))).toEqual(['duplicate', 'delivered']);
  });

  it('lago: a batch with one bad event dead-letters it and delivers the others on the resend', async () => {
    const adapter = createLagoTarget({ apiKey: 'lago_key', apiUrl: url });
    const rows = await items('lago', 'voice.call.completed', ['a', 'b', 'c']);
    // An event the adapter passes but Lago refuses (the mock treats a non-numeric timestamp string as invalid).
    rows[1] = { ...rows[1]!, output: { ...(rows[1]!.output as object), timestamp: 'yesterday' } };
    const first = await deliver(adapter, rows);
    expect(kinds(first)).toEqual(['retry', 'permanent', 'retry']);
    expect([...first.values()].filter((o) => o.kind === 'retry').every((o) => o.kind === 'retry' && o.collateral)).toBe(true);
    const again = await deliver(adapter, rows.filter((r) => first.get(r.rowId)!.kind === 'retry'));
    expect(kinds(again)).toEqual(['delivered', 'delivered']);
    expect(kinds(await deliver(adapter, [rows[0]!]))).toEqual(['duplicate']);
    expect(biller.received().endpoints.lago.distinct).toBe(2);
  });

  it('openmeter: duplicates are 204 and delivered; the biller keeps one', async () => {
    const adapter = createOpenMeterTarget({ apiUrl: url });
    const rows = await items('openmeter', 'sms.sent', ['a', 'b']);
    expect(kinds(await deliver(adapter, rows))).toEqual(['delivered', 'delivered']);
    expect(kinds(await deliver(adapter, rows))).toEqual(['delivered', 'delivered']);
    expect(biller.received().endpoints.openmeter).toMatchObject({ distinct: 2, duplicates: 2 });
  });

  it('stripe: a resend under the same key is replayed, under a new key the identifier says duplicate', async () => {
    const adapter = createStripeTarget({ apiKey: 'sk_test_1', apiUrl: url });
    const rows = await items('stripe', 'data.session.closed', ['a']);
    expect(kinds(await deliver(adapter, rows))).toEqual(['delivered']);
    expect(kinds(await deliver(adapter, rows))).toEqual(['duplicate']);
    expect(kinds(await deliver(adapter, [{ ...rows[0]!, idempotencyKey: 'another-key' }]))).toEqual(['duplicate']);
    expect(biller.received().endpoints.stripe).toMatchObject({ distinct: 1, duplicates: 2 });
    expect(biller.received().endpoints.stripe.items[0]).toMatchObject({ event_name: 'data_mb', payload: { value: '4', stripe_customer_id: 'cus_acme001' } });
  });

  it('retryable faults come back as retry with Retry-After', async () => {
    const adapter = createOpenMeterTarget({ apiUrl: url });
    const rows = await items('openmeter', 'voice.call.completed', ['r']);
    biller.setFaults({ burst429: { count: 1, retryAfterS: 4 } });
    expect([...(await deliver(adapter, rows)).values()]).toEqual([{ kind: 'retry', status: 429, reason: 'HTTP 429', retryAfterMs: 4000 }]);
    biller.setFaults({ failureRate: 1 });
    expect(kinds(await deliver(adapter, rows))).toEqual(['retry']);
    expect(biller.received().endpoints.openmeter.distinct).toBe(0);
  });

  it('no answer at all is a retry', async () => {
    const adapter = createHttpTarget({ url: 'http://127.0.0.1:1/v1/charges' });
    const out = await deliver(adapter, [{ rowId: 'x', source: 's', id: 'x', idempotencyKey: 's:x', output: {}, attempt: 1 }]);
    expect([...out.values()][0]).toMatchObject({ kind: 'retry', reason: expect.stringContaining('ECONNREFUSED') });
  });
});
