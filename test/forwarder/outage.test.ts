/**
 * A target outage: nothing is lost, the breaker opens (so the outage costs a few requests, not one per
 * queued row), probes, closes when the target is back, and the backlog — which kept growing during the
 * outage — drains.
 *
 * The issue asks for a one-minute outage; the breaker's timings scale with it, so this runs a 10 s outage
 * with a 1 s cool-down (the defaults are 30 s for real outages). BLH_OUTAGE_SECONDS=60 runs the full minute.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import type { SqliteStore } from '../../src/adapters/sqlite/index.ts';
import { createForwarder } from '../../src/forwarder/index.ts';
import type { BreakerChange, Forwarder } from '../../src/forwarder/index.ts';
import type { MockBiller } from '../../src/mock-biller/index.ts';
import { chargeOutput, ingest, lagoOutput, records, startBiller, tempDir, waitFor } from './support.ts';

const OUTAGE_S = Number(process.env.BLH_OUTAGE_SECONDS ?? 10);
const COOL_DOWN_MS = Math.max(500, OUTAGE_S * 100);
const BEFORE = 300;
const DURING = 200;

const tmp = tempDir();
let store: SqliteStore;
let biller: MockBiller;
let url: string;
let forwarder: Forwarder;

beforeAll(async () => {
  ({ biller, url } = await startBiller({ apiKeys: { lago: 'lago_key' } }));
  store = createSqliteStore({ filename: tmp.file('outbox.db') });
});

afterAll(async () => {
  await forwarder?.stop();
  await store.close();
  await biller.close();
  tmp.cleanup();
});

describe(`a ${OUTAGE_S} s target outage`, () => {
  it('loses nothing, opens and closes the breaker, and drains the backlog after', { timeout: OUTAGE_S * 1000 + 60_000 }, async () => {
    const breaker = { failureThreshold: 5, coolDownMs: COOL_DOWN_MS };
    forwarder = createForwarder({
      store,
      targets: {
        billing: { preset: 'http', url: `${url}/v1/charges`, concurrency: 8, timeoutMs: 2000, breaker, retry: { baseDelayMs: 100, maxDelayMs: 2000 } },
        lago: { preset: 'lago', url, apiKey: 'lago_key', batchSize: 20, concurrency: 2, timeoutMs: 2000, breaker, retry: { baseDelayMs: 100, maxDelayMs: 2000 } },
      },
      leaseMs: 10_000,
      pollIntervalMs: 50,
      statsIntervalMs: 0,
    });
    const changes: BreakerChange[] = [];
    forwarder.events.on('breaker:changed', (c) => changes.push(c));
    await forwarder.start();

    await ingest(store, records(BEFORE, (id) => ({ billing: chargeOutput(id), lago: lagoOutput(id) })));
    await waitFor(() => biller.received({ items: false }).endpoints.charges.distinct > 50, 10_000, 'deliveries before the outage');

    biller.setFaults({ outageSeconds: OUTAGE_S });
    const outageStarted = Date.now();
    // The queue keeps growing safely during the outage.
    await ingest(store, records(DURING, (id) => ({ billing: chargeOutput(id), lago: lagoOutput(id) }), { from: BEFORE }));
    forwarder.wake();
    await waitFor(() => changes.filter((c) => c.to === 'open').length === 2, 5000, 'both breakers to open');
    const mid = await forwarder.refreshQueueMetrics();
    expect(mid.deliveries.pending).toBeGreaterThan(DURING);
    expect(forwarder.metrics.render()).toMatch(/bilhetagem_breaker_state\{target="billing"\} 2/);

    await waitFor(
      async () => (await store.stats({ now: new Date() })).deliveries.delivered === 2 * (BEFORE + DURING),
      OUTAGE_S * 1000 + 30_000,
      'the backlog to drain',
    );
    const drainedAfterMs = Date.now() - outageStarted;

    const stats = await store.stats({ now: new Date() });
    expect(stats.deliveries).toMatchObject({ pending: 0, dead: 0 });
    const received = biller.received({ items: false });
    expect(received.endpoints.charges.distinct).toBe(BEFORE + DURING);
    expect(received.endpoints.lago.distinct).toBe(BEFORE + DURING);
    // Each breaker opened and closed again.
    for (const target of ['billing', 'lago']) {
      const seen = changes.filter((c) => c.target === target).map((c) => c.to);
      expect(seen).toContain('open');
      expect(seen).toContain('half-open');
      expect(seen.at(-1)).toBe('closed');
    }
    // The outage cost a few requests per target: the failures that opened the breaker, what was in flight,
    // and one probe per cool-down — not one per queued row.
    const probes = Math.ceil((OUTAGE_S * 1000) / COOL_DOWN_MS) + 2;
    const bound = 5 + 8 + probes + (5 + 2 + probes);
    expect(received.faults.outage).toBeLessThanOrEqual(bound);
    expect(received.faults.outage).toBeLessThan((BEFORE + DURING) / 4);
    console.log(
      `outage ${OUTAGE_S} s: ${received.faults.outage} requests answered 503 (bound ${bound}), breaker changes ${changes.length}, backlog drained ${(drainedAfterMs / 1000).toFixed(1)} s after the outage began`,
    );
  });
});
