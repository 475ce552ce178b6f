/**
 * The forwarder loop against the mock biller on loopback, one `runOnce()` cycle at a time with a fake clock,
 * over the memory store: receipts, retries, Retry-After, dead letters, batches, isolation, the breaker.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/adapters/memory/index.ts';
import { createForwarder } from '../../src/forwarder/index.ts';
import type { DeliveryDead, DeliveryRetry, DeliverySent, Forwarder, ForwarderOptions, TargetConfig } from '../../src/forwarder/index.ts';
import type { MockBiller } from '../../src/mock-biller/index.ts';
import type { Store } from '../../src/ports/store.ts';
import { chargeOutput, ingest, lagoOutput, records, startBiller } from './support.ts';

let biller: MockBiller;
let url: string;
let store: Store;
let now: number;
const forwarders: Forwarder[] = [];
const T0 = Date.parse('2026-11-25T10:00:00Z');

beforeAll(async () => {
  ({ biller, url } = await startBiller({ now: () => now, apiKeys: { lago: 'lago_key' } }));
});
afterAll(() => biller.close());
beforeEach(() => {
  now = T0;
  biller.reset();
  biller.setFaults({});
  store = createMemoryStore();
});
afterEach(async () => {
  await Promise.all(forwarders.splice(0).map((f) => f.stop()));
  await store.close();
});

function forwarder(targets: Record<string, TargetConfig>, options: Partial<ForwarderOptions> = {}) {
  const f = createForwarder({ store, targets, clock: () => now, random: () => 0.5, leaseMs: 60_000, statsIntervalMs: 0, ...options });
  forwarders.push(f);
  const sent: DeliverySent[] = [];
  const retried: DeliveryRetry[] = [];
  const dead: DeliveryDead[] = [];
  f.events.on('delivery:sent', (e) => sent.push(e));
  f.events.on('delivery:retry', (e) => retried.push(e));
  f.events.on('delivery:dead', (e) => dead.push(e));
  return { f, sent, retried, dead };
}

const billing = (over: Partial<TargetConfig> = {}): Record<string, TargetConfig> => ({ billing: { preset: 'http', url: `${url}/v1/charges`, ...over } as TargetConfig });

describe('forwarder: delivery', () => {
  it('delivers every row and keeps the receipt: status, the target id and the time', async () => {
    await ingest(store, records(5, (id) => ({ billing: chargeOutput(id) }), { receivedAt: new Date(T0) }));
    const { f, sent } = forwarder(billing());
    const summary = await f.runOnce();
    expect(summary).toMatchObject({ claimed: 5, requests: 5, delivered: 5, retried: 0, dead: 0 });
    expect(sent).toHaveLength(5);
    expect(biller.received().endpoints.charges.distinct).toBe(5);
    const rec = await store.getRecord('urn:test:voice', 'rec-0');
    expect(rec!.targets.billing).toMatchObject({ status: 'delivered', deliveredAt: new Date(T0), receipt: { statusCode: 201 } });
    expect(rec!.targets.billing!.receipt!.targetId).toMatch(/^ch_/);
    expect(rec!.deliveries).toEqual([expect.objectContaining({ outcome: 'delivered', statusCode: 201, at: new Date(T0) })]);
  });

  it('sends the idempotency key, so a resend after a lost answer is recognised and not billed twice', async () => {
    await ingest(store, records(4, (id) => ({ billing: chargeOutput(id) }), { receivedAt: new Date(T0) }));
    const { f, sent, retried } = forwarder(billing());
    biller.setFaults({ failAfterStoreRate: 1 });
    await f.runOnce();
    expect(retried).toHaveLength(4);
    expect(biller.received().endpoints.charges.distinct).toBe(4);
    biller.setFaults({});
    now += 60_000;
    await f.runOnce();
    expect(sent.map((s) => s.duplicate)).toEqual([true, true, true, true]);
    const r = biller.received().endpoints.charges;
    expect(r.distinct).toBe(4);
    expect(r.duplicates).toBe(4);
    const rec = await store.getRecord('urn:test:voice', 'rec-1');
    expect(rec!.targets.billing!.status).toBe('delivered');
    expect(rec!.deliveries.map((d) => d.outcome)).toEqual(['retry', 'delivered']);
    expect(rec!.deliveries[1]!.answer).toEqual({ duplicate: true });
  });

  it('retries 5xx with backoff and full jitter, persisted as the next attempt time instead of sleeping', async () => {
    await ingest(store, records(2, (id) => ({ billing: chargeOutput(id) }), { receivedAt: new Date(T0) }));
    const { f, retried } = forwarder(billing({ retry: { baseDelayMs: 1000, maxDelayMs: 60_000 } }));
    biller.setFaults({ failureRate: 1 });
    await f.runOnce();
    // random() = 0.5, attempt 1: 0.5 * 1000
    expect(retried.map((r) => r.nextAttemptAt.getTime() - T0)).toEqual([500, 500]);
    expect(retried[0]).toMatchObject({ statusCode: 500, counted: true, attempt: 1 });
    expect((await f.runOnce()).claimed).toBe(0); // not due yet
    now += 500;
    await f.runOnce();
    expect(retried.slice(2).map((r) => r.nextAttemptAt.getTime() - now)).toEqual([1000, 1000]); // attempt 2: 0.5 * 2000
  });

  it('honours Retry-After of a 429', async () => {
    await ingest(store, records(1, (id) => ({ billing: chargeOutput(id) }), { receivedAt: new Date(T0) }));
    const { f, retried } = forwarder(billing());
    biller.setFaults({ burst429: { count: 1, retryAfterS: 7 } });
    await f.runOnce();
    expect(retried[0]).toMatchObject({ statusCode: 429 });
    expect(retried[0]!.nextAttemptAt.getTime() - T0).toBe(7000);
  });

  it('retries a timeout (no answer) and reports it', async () => {
    await ingest(store, records(1, (id) => ({ billing: chargeOutput(id) }), { receivedAt: new Date(T0) }));
    const { f, retried } = forwarder(billing({ timeoutMs: 150 }), { leaseMs: 1000 });
    biller.setFaults({ timeoutRate: 1 });
    const started = Date.now();
    await f.runOnce();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(retried[0]!.reason).toMatch(/^no answer: ETIMEDOUT: no answer within 150 ms/);
    expect(retried[0]!.statusCode).toBeUndefined();
  });

  it('dead-letters a permanent 4xx at once, with the code, the reason and the answer', async () => {
    await ingest(store, records(1, (id) => ({ lago: lagoOutput(id) }), { receivedAt: new Date(T0) }));
    const { f, dead } = forwarder({ lago: { preset: 'lago', url, apiKey: 'wrong', batch: false } });
    await f.runOnce();
    expect(dead).toEqual([expect.objectContaining({ code: 'HTTP_401', statusCode: 401 })]);
    const page = await store.listDeadLetters({});
    expect(page.items).toEqual([expect.objectContaining({ target: 'lago', code: 'HTTP_401', statusCode: 401, recordId: 'rec-0' })]);
    expect(String(page.items[0]!.answer)).toContain('Unauthorized');
  });

  it('dead-letters a row the preset refuses to send, without sending anything', async () => {
    await ingest(store, records(2, (id) => ({ lago: id === 'rec-0' ? { code: 'x' } : lagoOutput(id) }), { receivedAt: new Date(T0) }));
    const { f, dead, sent } = forwarder({ lago: { preset: 'lago', url, apiKey: 'lago_key' } });
    await f.runOnce();
    expect(dead).toEqual([expect.objectContaining({ recordId: 'rec-0', code: 'MAPPING_REFUSED' })]);
    expect(dead[0]!.reason).toMatch(/transaction_id/);
    expect(sent.map((s) => s.recordId)).toEqual(['rec-1']);
  });

  it('dead-letters after the last attempt (MAX_ATTEMPTS)', async () => {
    await ingest(store, records(1, (id) => ({ billing: chargeOutput(id) }), { receivedAt: new Date(T0) }));
    const { f, dead } = forwarder(billing({ retry: { attempts: 2, baseDelayMs: 10 } }));
    biller.setFaults({ failureRate: 1 });
    await f.runOnce();
    now += 1000;
    await f.runOnce();
    expect(dead).toEqual([expect.objectContaining({ code: 'MAX_ATTEMPTS', attempt: 2 })]);
    expect(dead[0]!.reason).toMatch(/gave up after 2 attempts: HTTP 500/);
  });

  it('dead-letters once the row is older than max age (MAX_AGE)', async () => {
    await ingest(store, records(1, (id) => ({ billing: chargeOutput(id) }), { receivedAt: new Date(T0) }));
    const { f, dead } = forwarder(billing({ retry: { maxAgeMs: 5000, baseDelayMs: 1000 } }));
    biller.setFaults({ failureRate: 1 });
    await f.runOnce();
    now += 6000;
    await f.runOnce();
    expect(dead).toEqual([expect.objectContaining({ code: 'MAX_AGE' })]);
  });

  it('keeps the breaker open as long as the target asked (Retry-After of an outage), then probes and delivers', async () => {
    await ingest(store, records(6, (id) => ({ billing: chargeOutput(id) }), { receivedAt: new Date(T0) }));
    // Back in 8 s, says the target; the breaker's own cool-down is a minute.
    biller.setFaults({ outageSeconds: 8 });
    const { f, sent } = forwarder(billing({ concurrency: 1, breaker: { failureThreshold: 3, coolDownMs: 60_000 }, retry: { baseDelayMs: 100, maxDelayMs: 1000 } }));
    const changes: string[] = [];
    f.events.on('breaker:changed', (c) => changes.push(`${c.to}: ${c.reason}`));
    await f.runOnce();
    expect(changes).toEqual(['open: 3 consecutive failures (the target asked to wait 8000 ms)']);
    expect(f.stats().targets.billing!.breaker).toMatchObject({ state: 'open', retryAt: T0 + 8000 });
    expect(biller.received().faults.outage).toBe(3);
    now = T0 + 7999;
    await f.runOnce();
    expect(biller.received().faults.outage).toBe(3);
    now = T0 + 8000;
    for (let i = 0; i < 4 && sent.length < 6; i++) await f.runOnce();
    expect(changes.slice(1)).toEqual(['half-open: the 8000 ms the target asked for (Retry-After) are over', 'closed: probe succeeded']);
    expect(sent).toHaveLength(6);
    expect(biller.received().endpoints.charges.distinct).toBe(6);
  });

  it("counts max age from the row's first try, not its creation, in a forwarder that restarted too", async () => {
    // Queued at T0, first tried 10 s later (a backlog); max age 5 s.
    await ingest(store, records(1, (id) => ({ billing: chargeOutput(id) }), { receivedAt: new Date(T0) }));
    biller.setFaults({ failureRate: 1 });
    const target = billing({ retry: { maxAgeMs: 5000, baseDelayMs: 1000, maxDelayMs: 1000 } });
    now = T0 + 10_000;
    const before = forwarder(target);
    await before.f.runOnce();
    expect(before.retried).toHaveLength(1);
    await before.f.stop();
    // A new forwarder knows nothing of the first try but what the store kept.
    const after = forwarder(target);
    now = T0 + 12_000;
    await after.f.runOnce();
    expect(after.dead).toEqual([]);
    expect(after.retried).toHaveLength(1);
    now = T0 + 15_500;
    await after.f.runOnce();
    expect(after.dead).toEqual([expect.objectContaining({ code: 'MAX_AGE', attempt: 3 })]);
  });
});

describe('forwarder: batches', () => {
  it('lago: a batch refused for one bad event dead-letters it and resends the others at once without counting an attempt', async () => {
    await ingest(store, records(4, (id) => ({ lago: id === 'rec-2' ? { ...lagoOutput(id), timestamp: 'yesterday' } : lagoOutput(id) }), { receivedAt: new Date(T0) }));
    const { f, dead, retried, sent } = forwarder({ lago: { preset: 'lago', url, apiKey: 'lago_key' } });
    await f.runOnce();
    expect(dead).toEqual([expect.objectContaining({ recordId: 'rec-2', code: 'HTTP_422' })]);
    expect(retried.map((r) => [r.recordId, r.counted, r.nextAttemptAt.getTime() - now])).toEqual([
      ['rec-0', false, 0],
      ['rec-1', false, 0],
      ['rec-3', false, 0],
    ]);
    await f.runOnce();
    expect(sent.map((s) => s.recordId)).toEqual(['rec-0', 'rec-1', 'rec-3']);
    const rec = await store.getRecord('urn:test:voice', 'rec-0');
    expect(rec!.targets.lago!.attempts).toBe(1); // the collateral retry did not count
    expect(biller.received().endpoints.lago.distinct).toBe(3);
  });

  it('a batch refused without naming the bad item: each item goes alone next time, and only the bad one dies', async () => {
    const seen: number[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const items = JSON.parse(body) as { bad?: boolean }[];
        seen.push(items.length);
        const status = items.some((i) => i.bad) ? 400 : 200;
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(status === 200 ? { ok: true } : { error: 'invalid batch' }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      await ingest(store, records(3, (id) => ({ billing: { ...chargeOutput(id), ...(id === 'rec-1' ? { bad: true } : {}) } }), { receivedAt: new Date(T0) }));
      const { f, dead, retried, sent } = forwarder(billing({ url: `http://127.0.0.1:${port}/batch`, batch: true, batchSize: 10 }));
      await f.runOnce();
      expect(retried.map((r) => [r.recordId, r.isolate, r.counted])).toEqual([
        ['rec-0', true, true],
        ['rec-1', true, true],
        ['rec-2', true, true],
      ]);
      await f.runOnce();
      expect(seen).toEqual([3, 1, 1, 1]);
      expect(dead).toEqual([expect.objectContaining({ recordId: 'rec-1', code: 'HTTP_400' })]);
      expect(sent.map((s) => s.recordId).sort()).toEqual(['rec-0', 'rec-2']);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
