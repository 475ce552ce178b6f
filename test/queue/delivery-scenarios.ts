/**
 * The relay and the queue worker together, with a store and a queue, against a mock biller: what the
 * many-process deployment relies on, shown in one process. Run by each store/queue pairing (memory +
 * memory, SQLite + memory, PostgreSQL + RabbitMQ); the outage cases live in the live pairing's file.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/ports/store.ts';
import type { TargetsConfig } from '../../src/forwarder/index.ts';
import type { MockBiller } from '../../src/mock-biller/index.ts';
import { createRelay } from '../../src/queue/relay.ts';
import type { Relay, RelayOptions } from '../../src/queue/relay.ts';
import { createQueueWorker } from '../../src/queue/worker.ts';
import type { QueueWorker, QueueWorkerOptions } from '../../src/queue/worker.ts';
import type { Queue } from '../../src/queue/port.ts';
import { chargeOutput, ingest, lagoOutput, records, startBiller } from '../forwarder/support.ts';
import { sleep, waitFor } from './support.ts';

/** One store and connections to one queue namespace, fresh per test. */
export interface DeliveryEnv {
  /** The store the test ingests into and inspects; relays and workers may get their own connections. */
  store: Store;
  /** Another connection to the same store (a process of its own would have one). */
  storeConnection(): Promise<Store>;
  queue(): Promise<Queue>;
  cleanup(): Promise<void>;
}

export function targetsFor(url: string): TargetsConfig {
  const fast = { retry: { baseDelayMs: 20, maxDelayMs: 200 }, breaker: { failureThreshold: 1000, minRequests: 100_000 }, timeoutMs: 2000 };
  return {
    default: { preset: 'http', url: `${url}/v1/charges`, ...fast },
    lago: { preset: 'lago', url, apiKey: 'demo', ...fast },
  };
}

export function bothTargets(id: string): Record<string, unknown> {
  return { default: chargeOutput(id), lago: lagoOutput(id) };
}

export interface Running {
  biller: MockBiller;
  url: string;
  relay(o?: Partial<RelayOptions>, store?: Store, queue?: Queue): Promise<Relay>;
  worker(o?: Partial<QueueWorkerOptions>, store?: Store, queue?: Queue): Promise<QueueWorker>;
  /** Waits until every outbox row is settled (delivered or dead). */
  settled(rows: number, timeoutMs?: number): Promise<void>;
  stopAll(): Promise<void>;
}

export async function running(env: DeliveryEnv): Promise<Running> {
  const { biller, url } = await startBiller();
  const handles: { stop(): Promise<void> }[] = [];
  return {
    biller,
    url,
    async relay(o = {}, store = env.store, queue) {
      const relay = createRelay({ store, queue: queue ?? (await env.queue()), targets: ['default', 'lago'], leaseMs: 30_000, pollIntervalMs: 50, ...o });
      handles.push(relay);
      await relay.start();
      return relay;
    },
    async worker(o = {}, store = env.store, queue) {
      const worker = createQueueWorker({ store, queue: queue ?? (await env.queue()), targets: targetsFor(url), prefetch: 20, statsIntervalMs: 0, ...o });
      handles.push(worker);
      await worker.start();
      return worker;
    },
    async settled(rows, timeoutMs = 30_000) {
      await waitFor(
        async () => {
          const s = await env.store.stats({ now: new Date() });
          return s.deliveries.delivered + s.deliveries.dead >= rows;
        },
        timeoutMs,
        `${rows} outbox rows settled`,
      );
    },
    async stopAll() {
      for (const h of handles.reverse()) await h.stop();
      await biller.close();
    },
  };
}

export function runDeliveryScenarios(name: string, makeEnv: () => Promise<DeliveryEnv>): void {
  describe(`${name}: relay and queue worker`, () => {
    let env: DeliveryEnv;
    let run: Running;
    beforeEach(async () => {
      env = await makeEnv();
      run = await running(env);
    });
    afterEach(async () => {
      await run.stopAll();
      await env.cleanup();
    });

    it('delivers every outbox row once in effect, through two workers', async () => {
      await ingest(env.store, records(150, bothTargets));
      await run.relay();
      const a = await run.worker({ worker: 'worker-a' });
      const b = await run.worker({ worker: 'worker-b' });
      await run.settled(300);
      const stats = await env.store.stats({ now: new Date() });
      expect(stats.deliveries).toMatchObject({ pending: 0, delivered: 300, dead: 0 });
      const received = run.biller.received({ items: false }).endpoints;
      expect(received.charges.distinct).toBe(150);
      expect(received.lago.distinct).toBe(150);
      const sentBy = [a, b].map((w) => w.stats().targets.default!.counts.delivered + w.stats().targets.lago!.counts.delivered);
      expect(sentBy[0]! + sentBy[1]!).toBeGreaterThanOrEqual(300);
      expect(sentBy.every((n) => n > 0)).toBe(true);
      // The attempt log names the relay whose lease carried the row.
      const record = await env.store.getRecord('urn:test:voice', 'rec-7');
      expect(record!.deliveries.map((d) => d.outcome)).toEqual(['delivered', 'delivered']);
      expect(record!.deliveries[0]!.worker).toMatch(/^relay:/);
    });

    it('sends a retryable failure back to the outbox and publishes it again when it is due', async () => {
      run.biller.setFaults({ failureRate: 0.3, failAfterStoreRate: 0.1, seed: 11 });
      await ingest(env.store, records(60, bothTargets));
      await run.relay();
      await run.worker();
      await run.settled(120);
      const stats = await env.store.stats({ now: new Date() });
      expect(stats.deliveries).toMatchObject({ delivered: 120, dead: 0 });
      const received = run.biller.received({ items: false });
      expect(received.endpoints.charges.distinct).toBe(60);
      expect(received.endpoints.lago.distinct).toBe(60);
      expect(received.faults.failure + received.faults.failAfterStore).toBeGreaterThan(0);
      const retried = await env.store.getRecord('urn:test:voice', 'rec-3');
      expect(retried!.targets.default!.status).toBe('delivered');
    });

    it('dead-letters a permanent refusal in the store and takes it off the queue', async () => {
      await ingest(env.store, records(10, (id) => ({ default: id === 'rec-4' ? 'not an object' : chargeOutput(id) })));
      const queue = await env.queue();
      await run.relay({ targets: ['default'] }, env.store, queue);
      await run.worker({ targets: { default: targetsFor(run.url).default! } });
      await run.settled(10);
      const stats = await env.store.stats({ now: new Date() });
      expect(stats.deliveries).toMatchObject({ delivered: 9, dead: 1 });
      const [dead] = (await env.store.listDeadLetters()).items;
      expect(dead!.recordId).toBe('rec-4');
      await waitFor(async () => (await queue.depth('default')).waiting === 0, 5000, 'an empty queue');
      expect(await queue.depth('default')).toEqual({ waiting: 0, dead: 0 });
    });

    it('publishes again the rows a crashed relay had claimed, once their lease runs out', async () => {
      await ingest(env.store, records(20, bothTargets));
      const leaseMs = 1500;
      const claimedAt = Date.now();
      const lost = [
        ...(await env.store.claim({ target: 'default', limit: 20, leaseMs, worker: 'relay:crashed', now: new Date(claimedAt) })),
        ...(await env.store.claim({ target: 'lago', limit: 20, leaseMs, worker: 'relay:crashed', now: new Date(claimedAt) })),
      ];
      expect(lost).toHaveLength(40);
      await run.relay();
      await run.worker();
      await run.settled(40);
      expect(run.biller.received({ items: false }).endpoints.charges.distinct).toBe(20);
      for (let i = 0; i < 20; i++) {
        const record = await env.store.getRecord('urn:test:voice', `rec-${i}`);
        for (const attempt of record!.deliveries) expect(attempt.at.getTime()).toBeGreaterThanOrEqual(claimedAt + leaseMs);
      }
    });

    it('drops a stale message (its row was claimed again) without harm, and delivers the row from the current one', async () => {
      await ingest(env.store, records(1, (id) => ({ default: chargeOutput(id) })));
      const [old] = await env.store.claim({ target: 'default', limit: 1, leaseMs: 1, worker: 'relay:old', now: new Date() });
      await sleep(5);
      const queue = await env.queue();
      const relay = await run.relay({ targets: ['default'] }, env.store, queue); // claims the row again: a new token
      await waitFor(() => relay.stats().targets.default!.published === 1, 5000, 'the row published again');
      await queue.publish([{ ...old!, leaseExpiresAt: new Date(Date.now() + 60_000) }]); // the old token
      await run.worker({ targets: { default: targetsFor(run.url).default! } });
      await run.settled(1);
      await waitFor(async () => (await queue.depth('default')).waiting === 0, 5000, 'an empty queue');
      const record = await env.store.getRecord('urn:test:voice', 'rec-0');
      expect(record!.targets.default!.status).toBe('delivered');
      expect(run.biller.received({ items: false }).endpoints.charges.distinct).toBe(1);
    });

    it('publishes no more than maxQueued while nobody consumes, and the rest waits in the outbox', async () => {
      await ingest(env.store, records(50, (id) => ({ default: chargeOutput(id) })));
      const queue = await env.queue();
      const relay = await run.relay({ targets: ['default'], maxQueued: 10, batchSize: 4 }, env.store, queue);
      await waitFor(() => relay.stats().targets.default!.published >= 10, 10_000, 'ten published');
      await sleep(300);
      expect(relay.stats().targets.default!.published).toBe(10);
      expect((await queue.depth('default')).waiting).toBe(10);
      await run.worker({ targets: { default: targetsFor(run.url).default! } });
      await run.settled(50);
    });

    it('a stopped relay lets its targets go: a relay on another connection publishes the rest at once', async () => {
      await ingest(env.store, records(40, (id) => ({ default: chargeOutput(id) })));
      const queue = await env.queue();
      // A lease far longer than the test: a lock kept until it expired would stall the second relay.
      const first = await run.relay({ targets: ['default'], batchSize: 10, maxQueued: 10, leaseMs: 600_000 }, env.store, queue);
      await waitFor(() => first.stats().targets.default!.published === 10, 10_000, 'the first relay publishing');
      await first.stop();
      const second = await run.relay({ targets: ['default'], batchSize: 10, leaseMs: 600_000 }, await env.storeConnection(), queue);
      await run.worker({ targets: { default: targetsFor(run.url).default! } });
      await run.settled(40, 10_000);
      expect(second.stats().targets.default!.published).toBe(30);
      expect(run.biller.received({ items: false }).endpoints.charges).toMatchObject({ distinct: 40, duplicates: 0 });
    });

    it('stop() drains a worker mid-run, and another worker finishes without losing a row', async () => {
      run.biller.setFaults({ latencyMs: 20 });
      await ingest(env.store, records(100, (id) => ({ default: chargeOutput(id) })));
      await run.relay({ targets: ['default'] });
      const first = await run.worker({ targets: { default: targetsFor(run.url).default! }, prefetch: 10 });
      await waitFor(() => first.stats().targets.default!.counts.delivered >= 10, 10_000, 'some deliveries');
      await first.stop();
      expect(first.stats().queue).toMatchObject({ buffered: 0, inFlight: 0 });
      const delivered = (await env.store.stats({ now: new Date() })).deliveries.delivered;
      expect(delivered).toBeLessThan(100);
      await run.worker({ targets: { default: targetsFor(run.url).default! } });
      await run.settled(100);
      expect(run.biller.received({ items: false }).endpoints.charges.distinct).toBe(100);
    });
  });
}

