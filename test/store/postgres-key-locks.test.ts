/**
 * Key locks on PostgreSQL (OutboxStore.keyLocks): one request in flight per Stripe customer and meter across
 * forwarders in several processes — here several stores, each with its own pool and lock connection, on one
 * schema — counted by the mock biller, which sees every request. Runs against a live PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/adapters/postgres/index.js';
import { keyLockId } from '../../src/adapters/postgres/key-locks.js';
import type { PostgresStore } from '../../src/adapters/postgres/index.js';
import { createForwarder } from '../../src/forwarder/index.js';
import type { Forwarder, ForwarderStore } from '../../src/forwarder/index.js';
import type { MockBiller } from '../../src/mock-biller/index.js';
import { ingest, records, startBiller, stripeOutput, waitFor } from '../forwarder/support.js';
import { POSTGRES_URL, requireService } from '../support/services.js';

const postgres = await requireService('postgres');
const pg = postgres.available ? (await import('pg')).default : undefined;
const admin = pg && new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });

const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin?.end();
});

/** The backend holding the advisory lock of (schema, target, key), if any, as pg_locks shows it. */
async function lockHolder(schema: string, target: string, key: string): Promise<number | undefined> {
  const { rows } = await admin!.query<{ pid: number }>(
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1::bigint`,
    [keyLockId(schema, target, key)],
  );
  return rows[0]?.pid;
}

describe.skipIf(!postgres.available)('postgres key locks', () => {
  const opened: PostgresStore[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  let schema = '';
  const open = async () => {
    if (schema === '') {
      schema = `t_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
    }
    const store = await createPostgresStore({ connectionString: POSTGRES_URL, schema });
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    for (const store of opened.splice(0)) await store.close();
    schema = '';
  });

  it('a key is held by one set at a time, across stores and within one; targets do not share keys', async () => {
    const a = await open();
    const b = await open();
    const la = a.keyLocks!('stripe');
    const lb = b.keyLocks!('stripe');
    expect((await la.lock(['cus_1', 'cus_2'])).sort()).toEqual(['cus_1', 'cus_2']);
    expect(await lb.lock(['cus_2', 'cus_3'])).toEqual(['cus_3']);
    expect([la.holds('cus_2'), lb.holds('cus_2'), lb.holds('cus_3')]).toEqual([true, false, true]);
    // Asking again for a key it holds answers it; nothing changes hands.
    expect(await la.lock(['cus_1'])).toEqual(['cus_1']);

    // Another set of the same store (one PostgreSQL session, which would grant the lock twice) is refused too.
    const la2 = a.keyLocks!('stripe');
    expect(await la2.lock(['cus_1', 'cus_9'])).toEqual(['cus_9']);

    // The same key of another target is another lock.
    expect(await b.keyLocks!('other').lock(['cus_1'])).toEqual(['cus_1']);

    await la.unlock(['cus_2']);
    expect(la.holds('cus_2')).toBe(false);
    expect(await lb.lock(['cus_2'])).toEqual(['cus_2']);
    expect(await lockHolder(schema, 'stripe', 'cus_2')).toBeDefined();

    // A closed set lets go of all it holds.
    await la.close();
    expect(await lb.lock(['cus_1'])).toEqual(['cus_1']);
  });

  it('the locks have a connection of their own: a pool of one is not starved by them', async () => {
    const schema1 = `t_${randomBytes(6).toString('hex')}`;
    schemas.push(schema1);
    const store = await createPostgresStore({ connectionString: POSTGRES_URL, schema: schema1, pool: { max: 1, connectionTimeoutMillis: 2000 } });
    opened.push(store);
    expect(await store.keyLocks!('stripe').lock(['cus_1'])).toEqual(['cus_1']);
    // The one pooled connection still serves reads and writes while the lock is held.
    expect((await store.stats({ now: new Date() })).deliveries.pending).toBe(0);
    const { rows } = await admin!.query<{ application_name: string }>('SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.pid = $1', [await lockHolder(schema1, 'stripe', 'cus_1')]);
    expect(rows[0]?.application_name).toBe('bilhetagem-key-locks');
  });

  it('a store that closes, or loses the connection that holds its locks, lets go of every key', async () => {
    const a = await open();
    const b = await open();
    const la = a.keyLocks!('stripe');
    const lb = b.keyLocks!('stripe');
    expect(await la.lock(['cus_1', 'cus_2'])).toHaveLength(2);

    // The process died, as PostgreSQL sees it: its session ends.
    const pid = await lockHolder(schema, 'stripe', 'cus_1');
    expect(pid).toBeDefined();
    await admin!.query('SELECT pg_terminate_backend($1)', [pid]);
    await waitFor(() => !la.holds('cus_1'), 5000, 'the lost connection to be noticed');
    expect(await lb.lock(['cus_1'])).toEqual(['cus_1']);
    // The next call opens another connection.
    expect(await la.lock(['cus_1', 'cus_2'])).toEqual(['cus_2']);

    await a.close();
    expect(await lockHolder(schema, 'stripe', 'cus_2')).toBeUndefined();
    expect(await lb.lock(['cus_2'])).toEqual(['cus_2']);
    await expect(la.lock(['cus_3'])).rejects.toMatchObject({ code: 'BLH_ERR_STORE_CLOSED' });
  });

  /**
   * Two forwarders, each on its own store, deliver Stripe meter events of 2 customers to the mock biller, which
   * answers after 15 ms and counts every request that arrives while another for its customer and meter is
   * unanswered: 150 events per customer, over two seconds of sends one after the other, longer than a
   * forwarder's turn with a key. `hideLocks` runs the same without the stores' key locks: each forwarder then
   * keeps to one request per customer only within itself.
   */
  async function twoForwarders(hideLocks: boolean): Promise<{ biller: MockBiller; total: number; sent: number[]; metrics: string }> {
    const { biller, url } = await startBiller({ keepItems: false, faults: { latencyMs: 15 } });
    cleanups.push(() => biller.close());
    const stores = [await open(), await open()];
    const total = 300;
    await ingest(
      stores[0]!,
      records(total, (id) => {
        const out = stripeOutput(id);
        return { stripe: { ...out, payload: { stripe_customer_id: `cus_${Number(id.split('-')[1]) % 2}`, value: 1 } } };
      }),
    );
    const forwarders: Forwarder[] = stores.map((store) => {
      const s: ForwarderStore = hideLocks ? { claim: (o) => store.claim(o), ack: (r, x) => store.ack(r, x), ackMany: (a) => store.ackMany!(a), retryLater: (r, x) => store.retryLater(r, x), deadLetter: (r, x) => store.deadLetter(r, x), stats: (o) => store.stats(o) } : store;
      // Claims of 20: both forwarders hold rows of every customer at once.
      const f = createForwarder({ store: s, targets: { stripe: { preset: 'stripe', url, apiKey: 'sk_test', concurrency: 8 } }, pollIntervalMs: 20, batchSize: 20, statsIntervalMs: 0 });
      cleanups.push(() => f.stop());
      return f;
    });
    for (const f of forwarders) await f.start();
    await waitFor(() => biller.received({ items: false }).endpoints.stripe.distinct === total, 30_000, 'every event at the mock biller');
    await waitFor(async () => (await stores[0]!.stats({ now: new Date() })).deliveries.delivered === total, 10_000, 'every delivery settled');
    for (const f of forwarders) await f.stop();
    return { biller, total, sent: forwarders.map((f) => f.stats().targets.stripe!.counts.requests), metrics: forwarders.map((f) => f.metrics.render()).join('') };
  }

  it('two forwarders on one database never have two requests out for the same customer and meter', async () => {
    const { biller, total, sent, metrics } = await twoForwarders(false);
    const report = biller.received({ items: false }).endpoints.stripe;
    expect(report.overlapping).toBe(0);
    expect(report.distinct).toBe(total);
    // Both sent (the turns themselves are key-gate.test.ts's), and each let go of every key as it stopped.
    expect(sent.every((n) => n > 0)).toBe(true);
    // Both wanted both customers from the start: whichever asked second was refused, and counted it.
    const refusals = [...metrics.matchAll(/^bilhetagem_key_lock_refusals_total\{target="stripe"\} (\d+)$/gm)].map((m) => Number(m[1]));
    expect(refusals.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    for (let c = 0; c < 2; c++) expect(await lockHolder(schema, 'stripe', `cus_${c}\u0000voice_minutes`)).toBeUndefined();
  });

  it('without the key locks the same run does overlap (what the locks prevent)', async () => {
    const { biller, total } = await twoForwarders(true);
    const report = biller.received({ items: false }).endpoints.stripe;
    expect(report.distinct).toBe(total);
    expect(report.overlapping).toBeGreaterThan(0);
  });
});
