/**
 * Each preset end to end: records judged by the shipped ruleset, outputs renamed to target names
 * (outputsForTargets), stored with their outbox rows, forwarded, and read back from the mock biller's
 * `GET /received` — where every field must be the mapping's output, and every body the billing API's contract.
 */
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/adapters/memory/index.ts';
import { createForwarder, mappingTargets, outputsForTargets } from '../../src/forwarder/index.ts';
import type { TargetsConfig } from '../../src/forwarder/index.ts';
import { createPipeline, loadRuleset } from '../../src/index.ts';
import type { Pipeline } from '../../src/index.ts';
import type { MockBiller } from '../../src/mock-biller/index.ts';
import type { IngestItem } from '../../src/ports/store.ts';
import { MAPPINGS_DIR, RULES_DIR } from '../support/ruleset.ts';
import { loadContracts } from './helpers.ts';
import { startBiller } from './support.ts';

const check = loadContracts();
let biller: MockBiller;
let url: string;
let ruleset: Awaited<ReturnType<typeof loadRuleset>>;
const now = Date.now();
const time = new Date(now - 3_600_000).toISOString();

beforeAll(async () => {
  ({ biller, url } = await startBiller({ apiKeys: { lago: 'lago_key', stripe: 'sk_test_1', openmeter: 'om_token', charges: 'billing_token' } }));
  ruleset = await loadRuleset({ rules: RULES_DIR, mappings: MAPPINGS_DIR });
});
afterAll(() => biller.close());
beforeEach(() => biller.reset());

/** Four records of each type for two customers, all accepted by the shipped rules. */
function usage(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let n = 0;
  for (const subject of ['acme', 'umbrella']) {
    for (let i = 0; i < 2; i++) {
      const base = { specversion: '1.0', time, subject };
      out.push({ ...base, id: `call-${++n}`, source: 'voice-platform', type: 'voice.call.completed', data: { duration_s: 61 + n, from: '+5511987654321', to: '+5521912345678', direction: 'outbound', region: 'br-sp' } });
      out.push({ ...base, id: `sms-${++n}`, source: 'sms-gateway', type: 'sms.sent', data: { segments: 1 + (n % 10), to: '+5521912345678', region: 'br-rj' } });
      out.push({ ...base, id: `data-${++n}`, source: 'mobile-core', type: 'data.session.closed', data: { bytes: n * 1_000_000, apn: 'internet' } });
      out.push({ ...base, id: `disk-${++n}`, source: 'storage', type: 'storage.usage.hourly', data: { gb: n / 10 } });
    }
  }
  return out;
}

interface Chain {
  pipeline: Pipeline;
  expected: Map<string, unknown>;
}

/** Judges the records, stores them with the renamed outputs, forwards everything. Answers each target's expected bodies by record key. */
async function forward(targets: TargetsConfig, target: string): Promise<Chain> {
  const pipeline = createPipeline(ruleset, { targets: mappingTargets(targets) });
  const store = createMemoryStore();
  const items: IngestItem[] = [];
  const expected = new Map<string, unknown>();
  for (const rec of usage()) {
    const r = await pipeline.process(rec, { now });
    expect(r.verdict, JSON.stringify(r)).toBe('accepted');
    if (r.verdict !== 'accepted') continue;
    const outputs = outputsForTargets(r.outputs, targets);
    expect(Object.keys(outputs)).toEqual(Object.keys(targets));
    expected.set(`${String(rec.source)}:${String(rec.id)}`, outputs[target]);
    items.push({ source: String(rec.source), id: String(rec.id), type: String(rec.type), payload: rec, payloadHash: 'h', verdict: 'accepted', rulesetVersion: r.rulesetVersion, receivedAt: new Date(now), outputs });
  }
  await store.ingest(items);
  const f = createForwarder({ store, targets, statsIntervalMs: 0, env: { LAGO_API_KEY: 'lago_key', STRIPE_KEY: 'sk_test_1', OM_TOKEN: 'om_token', BILLING_TOKEN: 'billing_token' } });
  for (let i = 0; i < 5; i++) await f.runOnce();
  const stats = await store.stats({ now: new Date() });
  expect(stats.deliveries).toMatchObject({ delivered: items.length * Object.keys(targets).length, pending: 0, dead: 0 });
  await f.stop();
  await store.close();
  return { pipeline, expected };
}

async function received(): Promise<{ endpoints: Record<string, { items: unknown[]; distinct: number; duplicates: number; requests: number }> }> {
  const res = await request(`${url}/received`);
  return (await res.body.json()) as never;
}

describe('presets end to end, read back from the mock biller', () => {
  it('http (single sends): the default mapping output is exactly what arrives, one request per record, with its idempotency key', async () => {
    const { expected } = await forward({ billing: { preset: 'http', url: `${url}/v1/charges`, auth: { type: 'bearer', token: '${BILLING_TOKEN}' } } }, 'billing');
    const got = (await received()).endpoints.charges;
    expect(got.requests).toBe(16);
    expect(got.distinct).toBe(16);
    for (const item of got.items as Record<string, unknown>[]) {
      const key = String(item.idempotency_key);
      expect(item).toEqual(expected.get(key));
      expect(key).toBe(`${String(item.source)}:${String(item.record_id)}`);
      expect(Object.keys(item).sort()).toEqual(Object.keys(expected.get(key) as object).sort());
    }
  });

  it('http (batch): JSON arrays of up to batchSize elements, each element the mapping output', async () => {
    const { expected } = await forward({ billing: { preset: 'http', url: `${url}/v1/charges`, batch: true, batchSize: 5, auth: { type: 'bearer', token: '${BILLING_TOKEN}' } } }, 'billing');
    const got = (await received()).endpoints.charges;
    expect(got.requests).toBe(4); // 16 records in batches of 5
    expect(got.distinct).toBe(16);
    for (const item of got.items as Record<string, unknown>[]) expect(item).toEqual(expected.get(String(item.idempotency_key)));
  });

  it('lago: batches of events on /api/v1/events/batch, each event Lago\'s contract and field by field the mapping output', async () => {
    const { expected } = await forward({ lago: { preset: 'lago', url, apiKey: '${LAGO_API_KEY}' } }, 'lago');
    const got = (await received()).endpoints.lago;
    expect(got.requests).toBe(1);
    expect(got.distinct).toBe(16);
    for (const event of got.items as Record<string, unknown>[]) {
      expect(check('lago-event', { event })).toEqual([]);
      const want = expected.get(String(event.transaction_id)) as Record<string, unknown>;
      expect(event).toEqual(want);
      expect(typeof event.timestamp).toBe('number');
      expect(event.timestamp).toBe(Math.floor(Date.parse(time) / 1000));
      expect(event.external_subscription_id).toMatch(/^sub_(acme|umbrella)_001$/);
    }
    expect(check('lago-event-batch', { events: got.items })).toEqual([]);
  });

  it('lago (single sends): one event per POST /api/v1/events', async () => {
    await forward({ lago: { preset: 'lago', url, apiKey: '${LAGO_API_KEY}', batch: false } }, 'lago');
    const got = (await received()).endpoints.lago;
    expect(got.requests).toBe(16);
    for (const event of got.items) expect(check('lago-event', { event })).toEqual([]);
  });

  it('openmeter: CloudEvents in batches, each the contract and field by field the mapping output', async () => {
    const { expected } = await forward({ openmeter: { preset: 'openmeter', url, apiKey: '${OM_TOKEN}', batchSize: 8 } }, 'openmeter');
    const got = (await received()).endpoints.openmeter;
    expect(got.requests).toBe(2);
    expect(got.distinct).toBe(16);
    for (const event of got.items as Record<string, unknown>[]) {
      expect(check('openmeter-event', event)).toEqual([]);
      expect(event).toEqual(expected.get(`${String(event.source)}:${String(event.id)}`));
      expect(event.subject).toMatch(/^(acme|umbrella)$/);
    }
  });

  it('stripe: one form-encoded meter event per request, each the contract and field by field the mapping output', async () => {
    const { expected } = await forward({ stripe: { preset: 'stripe', url, apiKey: '${STRIPE_KEY}' } }, 'stripe');
    const got = (await received()).endpoints.stripe;
    expect(got.requests).toBe(16);
    expect(got.distinct).toBe(16);
    for (const event of got.items as Record<string, unknown>[]) {
      expect(check('stripe-meter-event', event)).toEqual([]);
      const want = expected.get(String(event.identifier)) as { event_name: string; identifier: string; timestamp: number; payload: Record<string, unknown> };
      // Form encoding makes every value a string.
      expect(event).toEqual({
        event_name: want.event_name,
        identifier: want.identifier,
        timestamp: String(want.timestamp),
        payload: Object.fromEntries(Object.entries(want.payload).map(([k, v]) => [k, String(v)])),
      });
      expect((event.payload as Record<string, string>).stripe_customer_id).toMatch(/^cus_/);
    }
  });
});
