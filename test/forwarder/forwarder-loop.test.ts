/**
 * The running loop (real timers): concurrency, per-key serialisation, the breaker, draining on stop, leases
 * taken over from a dead worker, and the handle's state rules.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/adapters/memory/index.ts';
import { createForwarder } from '../../src/forwarder/index.ts';
import type { BreakerChange, Forwarder, ForwarderOptions, TargetConfig } from '../../src/forwarder/index.ts';
import type { Store } from '../../src/ports/store.ts';
import { chargeOutput, ingest, records, startBiller, stripeOutput, waitFor } from './support.ts';

let store: Store;
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(() => {
  store = createMemoryStore();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await store.close();
});

function forwarder(targets: Record<string, TargetConfig>, options: Partial<ForwarderOptions> = {}): Forwarder {
  const f = createForwarder({ store, targets, pollIntervalMs: 20, statsIntervalMs: 0, ...options });
  cleanups.push(() => f.stop());
  return f;
}

/** A target that answers after `delayMs` and records how many requests were in flight, overall and per key. */
async function slowTarget(delayMs: number, keyOf: (body: string) => string = () => '') {
  let inFlight = 0;
  let maxInFlight = 0;
  const perKey = new Map<string, number>();
  let maxPerKey = 0;
  let total = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      total += 1;
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const key = keyOf(body);
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
      maxPerKey = Math.max(maxPerKey, perKey.get(key)!);
      setTimeout(() => {
        inFlight -= 1;
        perKey.set(key, perKey.get(key)! - 1);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats: () => ({ maxInFlight, maxPerKey, total, inFlight }),
  };
}

describe('forwarder loop', () => {
  it('keeps at most `concurrency` requests in flight to a target', async () => {
    const t = await slowTarget(30);
    await ingest(store, records(40, (id) => ({ billing: chargeOutput(id) })));
    const f = forwarder({ billing: { preset: 'http', url: `${t.url}/c`, concurrency: 3 } });
    await f.start();
    await waitFor(async () => (await store.stats({ now: new Date() })).deliveries.delivered === 40, 10_000, 'all delivered');
    expect(t.stats().maxInFlight).toBe(3);
  });

  it('stripe: at most one request in flight per customer and meter (keyFor)', async () => {
    const t = await slowTarget(20, (body) => new URLSearchParams(body).get('payload[stripe_customer_id]') ?? '');
    await ingest(
      store,
      records(30, (id) => {
        const n = Number(id.split('-')[1]);
        const out = stripeOutput(id);
        return { stripe: { ...out, payload: { stripe_customer_id: `cus_${n % 3}`, value: 1 } } };
      }),
    );
    const f = forwarder({ stripe: { preset: 'stripe', url: t.url, apiKey: 'sk_test', concurrency: 8 } });
    await f.start();
    await waitFor(async () => (await store.stats({ now: new Date() })).deliveries.delivered === 30, 10_000, 'all delivered');
    expect(t.stats().maxPerKey).toBe(1);
    expect(t.stats().maxInFlight).toBe(3);
  });

  it('stop() waits for the sends in flight, settles them, and nothing is acked after it returns', async () => {
    const t = await slowTarget(150);
    await ingest(store, records(10, (id) => ({ billing: chargeOutput(id) })));
    let stopped = false;
    let lateWrites = 0;
    const watched: Store = new Proxy(store, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          if (stopped && ['ack', 'retryLater', 'deadLetter', 'claim'].includes(String(prop))) lateWrites += 1;
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const f = createForwarder({ store: watched, targets: { billing: { preset: 'http', url: `${t.url}/c`, concurrency: 4 } }, pollIntervalMs: 20, statsIntervalMs: 0 });
    await f.start();
    await waitFor(() => t.stats().inFlight === 4, 5000, 'four in flight');
    await f.stop();
    stopped = true;
    const s = await store.stats({ now: new Date() });
    expect(s.deliveries.delivered).toBe(4); // the four in flight were settled before stop returned
    expect(s.targets.billing!.leased).toBe(0); // claimed-but-unsent rows were handed back
    await new Promise((r) => setTimeout(r, 300));
    expect(lateWrites).toBe(0);
    await f.stop(); // idempotent
    expect(f.stats().state).toBe('stopped');
    await expect(f.start()).rejects.toMatchObject({ code: 'BLH_ERR_FORWARDER_STATE' });
  });

  it("claims the rows of a worker that died mid-send once their lease expires", async () => {
    const { biller, url } = await startBiller();
    cleanups.push(() => biller.close());
    await ingest(store, records(5, (id) => ({ billing: chargeOutput(id) })));
    // The dead worker: it claimed everything and never settled.
    const claimed = await store.claim({ target: 'billing', limit: 10, leaseMs: 300, worker: 'dead-worker', now: new Date() });
    expect(claimed).toHaveLength(5);
    const f = forwarder({ billing: { preset: 'http', url: `${url}/v1/charges`, timeoutMs: 50 } }, { leaseMs: 1000 });
    await f.start();
    await waitFor(async () => (await store.stats({ now: new Date() })).deliveries.delivered === 5, 5000, 'delivered after the lease expired');
    const rec = await store.getRecord('urn:test:voice', 'rec-0');
    expect(rec!.deliveries[0]!.worker).toBe(f.options.worker);
    // The dead worker cannot settle rows it no longer holds.
    await expect(store.ack(claimed[0]!, { at: new Date() })).rejects.toMatchObject({ code: 'BLH_ERR_LEASE_LOST' });
  });

  it('the breaker opens after a run of failures, stops sending, probes after the cool-down and closes', async () => {
    const { biller, url } = await startBiller();
    cleanups.push(() => biller.close());
    await ingest(store, records(50, (id) => ({ billing: chargeOutput(id) })));
    biller.setFaults({ failureRate: 1 });
    const changes: BreakerChange[] = [];
    const f = forwarder(
      { billing: { preset: 'http', url: `${url}/v1/charges`, concurrency: 2, breaker: { failureThreshold: 3, coolDownMs: 400 }, retry: { baseDelayMs: 1, maxDelayMs: 5 } } },
      { leaseMs: 60_000 },
    );
    f.events.on('breaker:changed', (c) => changes.push(c));
    await f.start();
    await waitFor(() => changes.some((c) => c.to === 'open'), 5000, 'the breaker to open');
    const sentWhenOpened = biller.received().endpoints.charges.requests;
    expect(sentWhenOpened).toBeLessThanOrEqual(4); // 3 failures + the other one in flight
    await new Promise((r) => setTimeout(r, 150));
    expect(biller.received().endpoints.charges.requests).toBe(sentWhenOpened); // nothing sent while open
    await waitFor(() => changes.filter((c) => c.to === 'half-open').length >= 2, 5000, 'two probes');
    // Each probe is one request.
    expect(biller.received().endpoints.charges.requests).toBeLessThanOrEqual(sentWhenOpened + 2);
    biller.setFaults({});
    await waitFor(() => changes.at(-1)?.to === 'closed', 5000, 'the breaker to close');
    await waitFor(async () => (await store.stats({ now: new Date() })).deliveries.delivered === 50, 10_000, 'the backlog to drain');
    expect(f.stats().targets.billing!.breaker.state).toBe('closed');
    expect(f.metrics.render()).toMatch(/bilhetagem_breaker_transitions_total\{target="billing",to="open"\} [1-9]/);
  });

  it('asks the store for the bodies as JSON text only for a preset that sends them as they are (http)', async () => {
    const { biller, url } = await startBiller();
    cleanups.push(() => biller.close());
    await ingest(store, records(3, (id) => ({ billing: chargeOutput(id), lago: { transaction_id: id, external_subscription_id: 'sub-1', code: 'calls', timestamp: 1_700_000_000, properties: {} } })));
    const asked = new Map<string, unknown>();
    const claim = store.claim.bind(store);
    const recording: Store = Object.assign(Object.create(store) as Store, {
      claim: (o: Parameters<Store['claim']>[0]) => {
        asked.set(o.target, o.bodyJsonOnly);
        return claim(o);
      },
    });
    const f = createForwarder({ store: recording, targets: { billing: { preset: 'http', url: `${url}/v1/charges` }, lago: { preset: 'lago', url, apiKey: 'k' } }, pollIntervalMs: 20, statsIntervalMs: 0 });
    cleanups.push(() => f.stop());
    await f.runOnce();
    expect(asked).toEqual(new Map<string, unknown>([['billing', true], ['lago', false]]));
    expect((await store.stats({ now: new Date() })).deliveries.delivered).toBe(6);
  });

  it('refuses runOnce() while started', async () => {
    const f = forwarder({});
    await f.start();
    await expect(f.runOnce()).rejects.toMatchObject({ code: 'BLH_ERR_FORWARDER_STATE' });
  });

  it('counts metrics: deliveries by outcome, attempts, latency, queue depth and age, breaker state', async () => {
    const { biller, url } = await startBiller();
    cleanups.push(() => biller.close());
    await ingest(store, records(3, (id) => ({ billing: chargeOutput(id) }), { receivedAt: new Date(Date.now() - 5000) }));
    const f = forwarder({ billing: { preset: 'http', url: `${url}/v1/charges` } });
    await f.refreshQueueMetrics();
    let text = f.metrics.render();
    expect(text).toContain('bilhetagem_outbox_pending{target="billing"} 3');
    expect(text).toMatch(/bilhetagem_outbox_oldest_pending_age_seconds\{target="billing"\} [5-9]/);
    await f.runOnce();
    await f.refreshQueueMetrics();
    text = f.metrics.render();
    expect(text).toContain('bilhetagem_deliveries_total{target="billing",outcome="delivered"} 3');
    expect(text).toContain('bilhetagem_delivery_attempts_total{target="billing"} 3');
    expect(text).toContain('bilhetagem_delivery_requests_total{target="billing",status="2xx"} 3');
    expect(text).toContain('bilhetagem_delivery_latency_seconds_count{target="billing"} 3');
    expect(text).toContain('bilhetagem_delivery_latency_seconds_bucket{target="billing",le="+Inf"} 3');
    expect(text).toContain('bilhetagem_outbox_pending{target="billing"} 0');
    expect(text).toContain('bilhetagem_breaker_state{target="billing"} 0');
    expect(text).toContain('bilhetagem_dead_letters_open 0');
    expect(text).toContain('# TYPE bilhetagem_delivery_latency_seconds histogram');
    // For a server whose /metrics reads the queue gauges from the store itself.
    const served = f.metrics.render({ queue: false });
    expect(served).not.toContain('bilhetagem_outbox_pending');
    expect(served).not.toContain('bilhetagem_dead_letters_open');
    expect(served).toContain('bilhetagem_deliveries_total');
  });
});
