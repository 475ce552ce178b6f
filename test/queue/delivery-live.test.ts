/**
 * The relay and the queue worker on a live PostgreSQL and RabbitMQ: the delivery scenarios, then outages.
 * Every test gets a schema and a broker prefix of its own; relays and workers reach both through TCP
 * proxies, so "RabbitMQ goes away" and "PostgreSQL goes away" are a cut every connection sees, without
 * touching the services other tests use. Skipped with the reason printed when either service is missing;
 * failed instead when BILHETAGEM_REQUIRE_SERVICES=1.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/adapters/postgres/index.ts';
import type { PostgresStore } from '../../src/adapters/postgres/index.ts';
import { createTcpProxy, POSTGRES_URL, requireService } from '../support/services.ts';
import type { TcpProxy } from '../support/services.ts';
import { chargeOutput, ingest, records, stripeOutput } from '../forwarder/support.ts';
import { runDeliveryScenarios, running, targetsFor } from './delivery-scenarios.ts';
import type { DeliveryEnv, Running } from './delivery-scenarios.ts';
import { amqpHarness, lockBroker, sleep, waitFor } from './support.ts';
import type { AmqpHarness } from './support.ts';

const postgres = await requireService('postgres');
const rabbitmq = await requireService('rabbitmq');
const live = postgres.available && rabbitmq.available;

const pg = postgres.available ? (await import('pg')).default : undefined;
const admin = pg && new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
afterAll(() => admin?.end());

interface LiveEnv extends DeliveryEnv {
  broker: AmqpHarness;
  schema: string;
  /** A store connection through a TCP proxy of its own. */
  proxiedStore(): Promise<{ store: PostgresStore; proxy: TcpProxy }>;
}

async function liveEnv(): Promise<LiveEnv> {
  const schema = `q_${randomBytes(6).toString('hex')}`;
  const store = await createPostgresStore({ connectionString: POSTGRES_URL, schema, pool: { max: 4 } });
  const broker = await amqpHarness();
  const others: PostgresStore[] = [];
  const proxies: TcpProxy[] = [];
  return {
    store,
    schema,
    broker,
    async storeConnection() {
      const s = await createPostgresStore({ connectionString: POSTGRES_URL, schema, pool: { max: 4 } });
      others.push(s);
      return s;
    },
    async proxiedStore() {
      const proxy = await createTcpProxy(POSTGRES_URL);
      proxies.push(proxy);
      const s = await createPostgresStore({ connectionString: proxy.url, schema, pool: { max: 4, connectionTimeoutMillis: 1000 }, statementTimeoutMs: 5000 });
      others.push(s);
      return { store: s, proxy };
    },
    queue: () => broker.open(),
    async cleanup() {
      await broker.cleanup();
      for (const p of proxies) await p.restore().catch(() => undefined);
      for (const s of others) await s.close();
      for (const p of proxies) await p.close();
      await store.close();
      await admin!.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
  };
}

describe.skipIf(!live)('postgres + rabbitmq', () => {
  let unlock: () => void = () => undefined;
  beforeAll(async () => {
    unlock = await lockBroker();
  }, 600_000);
  afterAll(() => unlock());

  runDeliveryScenarios('PostgreSQL store, RabbitMQ queue', liveEnv);

  describe('this pairing only: outages, and Stripe key locks between workers', () => {
    let env: LiveEnv;
    let run: Running;
    beforeEach(async () => {
      env = await liveEnv();
      run = await running(env);
    });
    afterEach(async () => {
      await run.stopAll();
      await env.cleanup();
    });

    const defaultOnly = () => ({ targets: { default: targetsFor(run.url).default! } });

    it('two workers on their own connections never have two requests out for the same customer and meter (the store key locks)', async () => {
      run.biller.setFaults({ latencyMs: 15 });
      const total = 120;
      await ingest(
        env.store,
        records(total, (id) => ({ stripe: { ...stripeOutput(id), payload: { stripe_customer_id: `cus_${Number(id.split('-')[1]) % 3}`, value: 1 } } })),
      );
      // Leases longer than twice Stripe's 20 s timeout, or the workers would let every row lapse unsent.
      await run.relay({ targets: ['stripe'], batchSize: 20, leaseMs: 120_000 });
      const stripe = { targets: { stripe: { preset: 'stripe' as const, url: run.url, apiKey: 'sk_test', concurrency: 8 } } };
      const workers = [await run.worker({ ...stripe, prefetch: 20 }, await env.storeConnection()), await run.worker({ ...stripe, prefetch: 20 }, await env.storeConnection())];
      await run.settled(total);
      const report = run.biller.received({ items: false }).endpoints.stripe;
      expect(report.distinct).toBe(total);
      expect(report.overlapping).toBe(0);
      expect(workers.every((w) => w.stats().targets.stripe!.counts.requests > 0)).toBe(true);
    });

    it('RabbitMQ goes away mid-run and comes back: relays and workers reconnect and nothing is lost', async () => {
      run.biller.setFaults({ latencyMs: 5 });
      await ingest(env.store, records(300, (id) => ({ default: chargeOutput(id) })));
      const relayStore = await env.storeConnection();
      const relay = await run.relay({ targets: ['default'], batchSize: 20 }, relayStore);
      const workers = [await run.worker({ ...defaultOnly(), prefetch: 10 }, await env.storeConnection()), await run.worker({ ...defaultOnly(), prefetch: 10 }, await env.storeConnection())];
      await waitFor(async () => (await env.store.stats({ now: new Date() })).deliveries.delivered >= 50, 20_000, 'fifty delivered');
      const proxies = env.broker.proxies();
      for (const p of proxies) await p.cut();
      await sleep(1500);
      const during = (await env.store.stats({ now: new Date() })).deliveries.delivered;
      expect(during).toBeLessThan(300);
      for (const p of proxies) await p.restore();
      await run.settled(300, 60_000);
      const stats = await env.store.stats({ now: new Date() });
      expect(stats.deliveries).toMatchObject({ delivered: 300, pending: 0, dead: 0 });
      expect(run.biller.received({ items: false }).endpoints.charges.distinct).toBe(300);
      // The relay lived through the cut (every row's delivery is checked above, from the store and the biller).
      expect(relay.stats().state).toBe('running');
      expect(relay.stats().targets.default!.published).toBeGreaterThan(0);
      expect(workers.reduce((n, w) => n + w.stats().targets.default!.counts.delivered + w.stats().targets.default!.counts.duplicates, 0)).toBeGreaterThanOrEqual(300);
    });

    it('PostgreSQL goes away mid-run and comes back: claims and settling fail cleanly, then carry on, and nothing is lost', async () => {
      run.biller.setFaults({ latencyMs: 5 });
      await ingest(env.store, records(300, (id) => ({ default: chargeOutput(id) })));
      const relayConn = await env.proxiedStore();
      const workerConns = [await env.proxiedStore(), await env.proxiedStore()];
      // A claim that PostgreSQL committed but whose answer the cut lost leaves its rows leased until the lease
      // runs out (nothing is lost, they wait): with the scenarios' 30 s lease the test timed out whenever the cut
      // caught a claim in flight. 8 s brings them back within the test's time and still outlives a send by the
      // worker's margin (twice the target's 2 s timeout), without which a row is never sent.
      const relay = await run.relay({ targets: ['default'], batchSize: 20, leaseMs: 8000 }, relayConn.store);
      for (const c of workerConns) await run.worker({ ...defaultOnly(), prefetch: 10, settleRetryMs: 200 }, c.store);
      await waitFor(async () => (await env.store.stats({ now: new Date() })).deliveries.delivered >= 50, 20_000, 'fifty delivered');
      const proxies = [relayConn.proxy, ...workerConns.map((c) => c.proxy)];
      for (const p of proxies) await p.cut();
      await sleep(1500);
      for (const p of proxies) await p.restore();
      await run.settled(300, 60_000);
      const stats = await env.store.stats({ now: new Date() });
      expect(stats.deliveries).toMatchObject({ delivered: 300, pending: 0, dead: 0 });
      expect(run.biller.received({ items: false }).endpoints.charges.distinct).toBe(300);
      expect(relay.stats().state).toBe('running');
    });
  });
});
