/**
 * What only the PostgreSQL store can show: the schema and its migrations, several processes (here: several
 * stores, each with its own pool) sharing one database, group commit, the pool and its limits, and
 * surviving a server that goes away. Runs against a live PostgreSQL like postgres.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createPostgresStore, SCHEMA_VERSION } from '../../src/adapters/postgres/index.js';
import type { PostgresStore, PostgresStoreOptions } from '../../src/adapters/postgres/index.js';
import { importDriver } from '../../src/adapters/postgres/driver.js';
import { beginFor, createGroupCommit } from '../../src/adapters/postgres/group-commit.js';
import { migrate, migrations } from '../../src/adapters/postgres/migrations.js';
import { createTcpProxy, POSTGRES_URL, requireService } from '../support/services.js';
import type { TcpProxy } from '../support/services.js';
import { counted, countsWorkload, seedBeforeCounts } from './counts-workload.js';
import { accepted, at, expectCode, forLago, T0 } from './fixtures.js';

const postgres = await requireService('postgres');
const pg = postgres.available ? (await import('pg')).default : undefined;
const admin = pg && new pg.Pool({ connectionString: POSTGRES_URL, max: 3 });

const schemas: string[] = [];
const freshSchema = () => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  schemas.push(schema);
  return schema;
};
afterAll(async () => {
  for (const schema of schemas) await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin?.end();
});

/** One row per migration step, each applied once. */
const ALL_STEPS = Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 }));

const sql = async <R = Record<string, unknown>>(text: string, values?: unknown[]) => (await admin!.query(text, values)).rows as R[];

/** What stats() counts, counted the slow way: by scanning the schema's tables. */
async function scannedCounts(schema: string) {
  const records = { accepted: 0, skipped: 0, rejected: (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".rejections`))[0]!.n };
  for (const r of await sql<{ verdict: 'accepted' | 'skipped'; n: number }>(`SELECT verdict, count(*)::int AS n FROM "${schema}".records GROUP BY verdict`)) records[r.verdict] = r.n;
  const targets: Record<string, Record<string, number>> = {};
  const deliveries = { pending: 0, delivered: 0, dead: 0, discarded: 0 };
  for (const r of await sql<{ target: string; status: keyof typeof deliveries; n: number }>(`SELECT target, status, count(*)::int AS n FROM "${schema}".outbox GROUP BY target, status`)) {
    (targets[r.target] ??= { pending: 0, delivered: 0, dead: 0, discarded: 0 })[r.status] = r.n;
    deliveries[r.status] += r.n;
  }
  return { records, targets, deliveries };
}

describe('postgres driver', () => {
  it('names the package to install when pg is missing', async () => {
    const missing = Object.assign(new Error("Cannot find package 'pg' imported from /app/x.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    await expect(importDriver(() => Promise.reject(missing))).rejects.toMatchObject({
      code: 'BLH_ERR_DRIVER_MISSING',
      details: { package: 'pg' },
      message: expect.stringContaining('npm install pg'),
    });
  });

  it('refuses unknown and malformed options by name, before connecting', async () => {
    const options = (extra: object) => ({ connectionString: POSTGRES_URL, ...extra }) as PostgresStoreOptions;
    await expect(createPostgresStore(options({ shema: 'x' }))).rejects.toMatchObject({ code: 'BLH_ERR_OPTIONS', details: { option: 'shema' } });
    await expect(createPostgresStore(options({ pool: { maxx: 3 } }))).rejects.toMatchObject({ code: 'BLH_ERR_OPTIONS', details: { option: 'pool.maxx' } });
    await expect(createPostgresStore(options({ pool: { max: 0 } }))).rejects.toMatchObject({ code: 'BLH_ERR_OPTIONS', details: { option: 'pool.max' } });
    await expect(createPostgresStore(options({ schema: 'a"; DROP TABLE x; --' }))).rejects.toMatchObject({ code: 'BLH_ERR_OPTIONS', details: { option: 'schema' } });
    await expect(createPostgresStore(options({ statementTimeoutMs: -1 }))).rejects.toMatchObject({ code: 'BLH_ERR_OPTIONS' });
    await expect(createPostgresStore({} as PostgresStoreOptions)).rejects.toMatchObject({ code: 'BLH_ERR_OPTIONS', details: { option: 'connectionString' } });
  });
});

describe.skipIf(!postgres.available)('postgres store', () => {
  const opened: PostgresStore[] = [];
  const open = async (options: Partial<PostgresStoreOptions> = {}) => {
    const store = await createPostgresStore({ connectionString: POSTGRES_URL, schema: freshSchema(), ...options });
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  describe('schema', () => {
    it('creates the schema with its tables and records the version', async () => {
      const store = await open();
      const tables = await sql<{ name: string }>('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [store.schema]);
      expect(tables.map((t) => t.name)).toEqual(['accounts', 'api_keys', 'attempts', 'audit', 'dead_letters', 'outbox', 'records', 'rejections', 'rulesets', 'schema_version', 'stat_counts', 'stat_deltas']);
      expect(await sql(`SELECT version FROM "${store.schema}".schema_version ORDER BY 1`)).toEqual(ALL_STEPS);
      const identity = await sql(`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'records_identity' AND connamespace = $1::regnamespace`, [store.schema]);
      expect(identity).toEqual([{ def: 'UNIQUE (source, id)' }]);
    });

    it('keeps everything across close and reopen', async () => {
      const schema = freshSchema();
      const first = await open({ schema });
      await first.ingest([accepted('1'), forLago('2')]);
      const [row] = await first.claim({ target: 'lago', limit: 1, leaseMs: 1000, worker: 'w1', now: T0 });
      await first.ack(row, { at: at(10), statusCode: 200, targetId: 'evt-1' });
      await first.createApiKey({ name: 'k', sources: ['telecom'], prefix: 'blh_1', hash: 'h', createdAt: T0 });
      await first.appendAudit({ actor: 'ana', action: 'login', at: T0 });
      await first.close();

      const second = await open({ schema });
      expect(await second.getRecord('telecom', '1')).toMatchObject({ targets: { lago: { status: 'delivered', receipt: { targetId: 'evt-1' } }, stripe: { status: 'pending' } } });
      expect(await second.ingest([accepted('1')])).toMatchObject([{ status: 'duplicate' }]);
      expect((await second.claim({ target: 'lago', limit: 10, leaseMs: 1000, worker: 'w2', now: T0 })).map((r) => r.recordId)).toEqual(['2']);
      expect(await second.findApiKeyByPrefix('blh_1')).toMatchObject({ hash: 'h' });
      expect((await second.listAudit()).items).toHaveLength(1);
      expect(await sql(`SELECT version FROM "${schema}".schema_version ORDER BY 1`)).toEqual(ALL_STEPS);
    });

    it('migrates once when several stores start at the same time', async () => {
      const schema = freshSchema();
      const stores = await Promise.all(Array.from({ length: 6 }, () => open({ schema, pool: { max: 2 } })));
      expect(await sql(`SELECT version FROM "${schema}".schema_version ORDER BY 1`)).toEqual(ALL_STEPS);
      const outcomes = await Promise.all(stores.map((store) => store.ingest([forLago('same')])));
      expect(outcomes.map(([o]) => o.status).sort()).toEqual(['accepted', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    });

    it('refuses a database written by a newer version, and leaves it untouched', async () => {
      const schema = freshSchema();
      await (await open({ schema })).close();
      await sql(`INSERT INTO "${schema}".schema_version (version) VALUES ($1)`, [SCHEMA_VERSION + 1]);
      await expect(createPostgresStore({ connectionString: POSTGRES_URL, schema })).rejects.toMatchObject({
        code: 'BLH_ERR_SCHEMA_TOO_NEW',
        details: { found: SCHEMA_VERSION + 1, supported: SCHEMA_VERSION, file: expect.stringContaining(schema) },
      });
      expect((await sql<{ version: number }>(`SELECT version FROM "${schema}".schema_version ORDER BY 1`)).map((r) => r.version)).toEqual([...ALL_STEPS.map((r) => r.version), SCHEMA_VERSION + 1]);
    });

    it('rolls a failing migration back whole, schema included', async () => {
      const schema = freshSchema();
      const steps = [
        { version: 1, sql: 'CREATE TABLE a (x integer)' },
        { version: 2, sql: 'CREATE TABLE b (x integer); CREATE TABLE b (y integer)' },
      ];
      await expect(migrate(admin!, schema, 'the test database', steps)).rejects.toMatchObject({
        code: 'BLH_ERR_STORE_MIGRATION',
        details: { file: 'the test database', version: 2 },
      });
      expect(await sql('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).toEqual([]);
    });

    it('writes a confirmed delivery on its outbox row, and a failure as a row of attempts (step 4)', async () => {
      const store = await open();
      await store.ingest([forLago('1'), forLago('2')]);
      const rows = await store.claim({ target: 'lago', limit: 2, leaseMs: 60_000, worker: 'w1', now: T0 });
      expect(await store.ackMany([{ ref: rows[0]!, receipt: { at: at(10), statusCode: 200, targetId: 'evt-1', latencyMs: 7, answer: { id: 'evt-1' } } }])).toEqual([null]);
      await store.retryLater(rows[1]!, { at: at(20), error: 'HTTP 503', statusCode: 503, nextAttemptAt: at(30) });
      const attempts = await sql<{ outcome: string }>(`SELECT outcome FROM "${store.schema}".attempts ORDER BY id`);
      expect(attempts).toEqual([{ outcome: 'retry' }]);
      const held = await sql(
        `SELECT status, receipt_status, receipt_target_id, receipt_latency_ms, receipt_answer, receipt_worker, receipt_inline FROM "${store.schema}".outbox WHERE record_id = '1'`,
      );
      expect(held).toEqual([{ status: 'delivered', receipt_status: 200, receipt_target_id: 'evt-1', receipt_latency_ms: 7, receipt_answer: '{"id":"evt-1"}', receipt_worker: 'w1', receipt_inline: true }]);
      expect((await store.getRecord('telecom', '1'))!.deliveries).toEqual([
        { target: 'lago', at: at(10), outcome: 'delivered', statusCode: 200, targetId: 'evt-1', latencyMs: 7, error: null, answer: { id: 'evt-1' }, worker: 'w1' },
      ]);
    });

    it('keeps deliveries written before step 4 in attempts, and lists them with the ones after', async () => {
      const schema = freshSchema();
      await migrate(admin!, schema, 'the test database', migrations.slice(0, 3));
      // A record delivered the way step 3 wrote it: the receipt columns on the row, the attempt as a row of attempts.
      const [{ seq }] = await sql<{ seq: string }>(
        `INSERT INTO "${schema}".records (source, id, type, payload, payload_hash, verdict, ruleset_version, received_at)
         VALUES ('telecom', '1', 'call.completed', '{}', 'h', 'accepted', 'v1', $1) RETURNING seq`,
        [T0.getTime()],
      );
      const [{ id }] = await sql<{ id: string }>(
        `INSERT INTO "${schema}".outbox (record_seq, source, record_id, target, body, status, attempts, created_at, next_attempt_at, delivered_at, receipt_status, receipt_target_id)
         VALUES ($1, 'telecom', '1', 'lago', '{"event":"1"}', 'delivered', 1, $2, $2, $3, 200, 'evt-old') RETURNING id`,
        [seq, T0.getTime(), at(10).getTime()],
      );
      await sql(`INSERT INTO "${schema}".attempts (outbox_id, at, outcome, status_code, target_id, worker) VALUES ($1, $2, 'delivered', 200, 'evt-old', 'w-old')`, [id, at(10).getTime()]);

      const store = await open({ schema });
      expect(await sql(`SELECT version FROM "${schema}".schema_version ORDER BY 1`)).toEqual(ALL_STEPS);
      const old = { target: 'lago', outcome: 'delivered', statusCode: 200, targetId: 'evt-old', worker: 'w-old', at: at(10) };
      expect((await store.getRecord('telecom', '1'))!.deliveries).toEqual([expect.objectContaining(old)]);
      // Replayed and delivered again: the new delivery is held on the row, the old one stays where it was.
      expect(await store.requeueDelivered({ from: T0, to: at(100), at: at(1000) })).toBe(1);
      const [row] = await store.claim({ target: 'lago', limit: 1, leaseMs: 60_000, worker: 'w-new', now: at(1000) });
      await store.ack(row!, { at: at(1100), statusCode: 201, targetId: 'evt-new' });
      expect((await store.getRecord('telecom', '1'))!.deliveries).toEqual([
        expect.objectContaining(old),
        expect.objectContaining({ outcome: 'delivered', statusCode: 201, targetId: 'evt-new', worker: 'w-new', at: at(1100) }),
      ]);
      expect(await sql(`SELECT count(*)::int AS n FROM "${schema}".attempts`)).toEqual([{ n: 1 }]);
      // Replayed once more: the delivery held on the row moves into attempts; nothing is lost either way.
      expect(await store.requeueDelivered({ from: T0, to: at(2000), at: at(3000) })).toBe(1);
      expect(await sql(`SELECT target_id AS "targetId", worker FROM "${schema}".attempts ORDER BY id`)).toEqual([
        { targetId: 'evt-old', worker: 'w-old' },
        { targetId: 'evt-new', worker: 'w-new' },
      ]);
      expect((await store.getRecord('telecom', '1'))!.deliveries.map((d) => d.targetId)).toEqual(['evt-old', 'evt-new']);
    });

    it('keeps the counts stats() reads in step with a scan after every kind of write, from two pools', async () => {
      const schema = freshSchema();
      const a = await open({ schema });
      const b = await open({ schema, pool: { max: 2 } });
      await countsWorkload(a, b, async (store) => expect(counted(await store.stats({ now: T0 }))).toEqual(await scannedCounts(schema)));
      expect((await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".stat_deltas`))[0]!.n).toBeGreaterThan(0);
      // A store's first stats() folds the deltas into the counts (later ones at most every few seconds).
      const c = await open({ schema });
      const folded = counted(await c.stats({ now: T0 }));
      expect(await sql(`SELECT count(*)::int AS n FROM "${schema}".stat_deltas`)).toEqual([{ n: 0 }]);
      expect(folded).toEqual(await scannedCounts(schema));
      expect(await sql(`SELECT kind, a, b, n::int AS n FROM "${schema}".stat_counts WHERE n <> 0 ORDER BY 1, 2, 3`)).toEqual([
        { kind: 'outbox', a: 'lago', b: 'discarded', n: 1 },
        { kind: 'records', a: 'accepted', b: '', n: 1 },
      ]);
    });

    it('fills the counts from a scan in step 5, for a schema written before it', async () => {
      const schema = freshSchema();
      const first = await open({ schema });
      const before = await seedBeforeCounts(first);
      await first.close();
      // The schema as step 4 left it: no counts.
      await sql(`DROP TABLE "${schema}".stat_counts, "${schema}".stat_deltas`);
      await sql(`DELETE FROM "${schema}".schema_version WHERE version >= 5`);
      const second = await open({ schema });
      expect(counted(await second.stats({ now: T0 }))).toEqual(before);
      expect(before).toEqual(await scannedCounts(schema));
      expect(before.targets.lago).toEqual({ pending: 1, delivered: 1, dead: 1, discarded: 0 });
    });

    it('answers BLH_ERR_STORE_OPEN when the database cannot be reached, without the password', async () => {
      const error = await createPostgresStore({ connectionString: 'postgres://bob:s3cret@127.0.0.1:1/nowhere', pool: { connectionTimeoutMillis: 2000 } }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'BLH_ERR_STORE_OPEN', statusCode: 500 });
      expect((error as Error).message).toContain('127.0.0.1:1/nowhere');
      expect((error as Error).message).not.toContain('s3cret');
    });
  });

  describe('many processes on one database', () => {
    it('never gives the same row to claimers on two stores (two pools)', async () => {
      const schema = freshSchema();
      const a = await open({ schema });
      const b = await open({ schema });
      await a.ingest(Array.from({ length: 200 }, (_, i) => forLago(String(i))));
      const claims = await Promise.all(
        Array.from({ length: 24 }, (_, i) => (i % 2 ? a : b).claim({ target: 'lago', limit: 11, leaseMs: 60_000, worker: `w${i}`, now: T0 })),
      );
      const ids = claims.flat().map((r) => r.id);
      expect(ids).toHaveLength(200);
      expect(new Set(ids).size).toBe(200);
    });

    it('settles a row only for the lease holder, across stores', async () => {
      const schema = freshSchema();
      const a = await open({ schema });
      const b = await open({ schema });
      await a.ingest([forLago('1')]);
      const [stale] = await a.claim({ target: 'lago', limit: 1, leaseMs: 1000, worker: 'wa', now: T0 });
      const [fresh] = await b.claim({ target: 'lago', limit: 1, leaseMs: 1000, worker: 'wb', now: at(1000) });
      expect(fresh.id).toBe(stale.id);
      const results = await Promise.allSettled([a.ack(stale, { at: at(1100) }), b.ack(fresh, { at: at(1100) })]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
      expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'BLH_ERR_LEASE_LOST' });
      expect((await a.getRecord('telecom', '1'))!.deliveries).toMatchObject([{ outcome: 'delivered', worker: 'wb' }]);
    });

    it('answers concurrent ingests of one identity on many stores with one accepted', async () => {
      const schema = freshSchema();
      const stores = await Promise.all([open({ schema }), open({ schema }), open({ schema })]);
      const ids = Array.from({ length: 30 }, (_, i) => String(i));
      // Each store sends the ids in another order: sorted inserts keep the batches from deadlocking.
      const calls = stores.flatMap((store, s) => ids.map((_, i) => store.ingest([forLago(ids[(i * (s + 1) * 7) % ids.length])])));
      const outcomes = (await Promise.all(calls)).flat();
      for (const id of ids) {
        const statuses = outcomes.filter((o) => o.id === id).map((o) => o.status);
        expect(statuses.filter((s) => s === 'accepted')).toHaveLength(1);
      }
      expect((await stores[0].stats({ now: T0 })).deliveries.pending).toBe(30);
    });
  });

  describe('group commit', () => {
    it('commits concurrent callers in one transaction, each answered with its own outcome', async () => {
      const store = await open();
      await store.ingest([forLago('taken')]);
      const before = store.writeStats();
      const ids = Array.from({ length: 64 }, (_, i) => (i === 7 ? 'taken' : `r${i}`));
      const outcomes = await Promise.all(ids.map((id) => store.ingest([forLago(id)])));
      outcomes.forEach((result, i) =>
        expect(result).toEqual([{ source: 'telecom', id: ids[i], status: i === 7 ? 'duplicate' : 'accepted', ...(i === 7 ? { existing: expect.anything() } : {}) }]),
      );
      const after = store.writeStats();
      expect(after.jobs - before.jobs).toBe(64);
      expect(after.transactions - before.transactions).toBe(1);
      expect((await store.stats({ now: T0 })).deliveries.pending).toBe(64);
    });

    it('fails only the caller whose data the database refuses; the rest of the batch commits', async () => {
      const store = await open();
      const results = await Promise.allSettled([
        store.ingest([forLago('1')]),
        store.ingest([forLago('2'), forLago('bad\u0000id')]),
        store.ingest([forLago('3')]),
        store.appendAudit({ actor: 'ana', action: 'login', at: T0 }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'BLH_ERR_STORE_INPUT', details: { pgCode: '22021' } });
      expect(await store.getRecord('telecom', '1')).toBeDefined();
      expect(await store.getRecord('telecom', '2')).toBeUndefined();
      expect(await store.getRecord('telecom', '3')).toBeDefined();
      expect((await store.listAudit()).items).toHaveLength(1);
      expect(store.writeStats()).toMatchObject({ failedBatches: 0, reruns: 2 });
    });

    it('fails only the caller whose lease is lost; the rest of the batch commits', async () => {
      const store = await open();
      await store.ingest([forLago('1'), forLago('2')]);
      const [a, b] = await store.claim({ target: 'lago', limit: 2, leaseMs: 1000, worker: 'w1', now: T0 });
      const results = await Promise.allSettled([
        store.ingest([forLago('3')]),
        store.ack({ id: a.id, leaseToken: 'stale' }, { at: T0 }),
        store.ack(b, { at: T0 }),
        store.ingest([forLago('4')]),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'BLH_ERR_LEASE_LOST' });
      expect(store.writeStats()).toMatchObject({ failedBatches: 0, reruns: 0 });
      expect((await store.getRecord('telecom', '2'))!.targets.lago.status).toBe('delivered');
      expect((await store.getRecord('telecom', '1'))!.deliveries).toEqual([]);
      expect(await store.getRecord('telecom', '4')).toBeDefined();
    });

    it('splits a long queue into transactions of at most maxBatchJobs calls', async () => {
      const store = await open({ maxBatchJobs: 10 });
      await Promise.all(Array.from({ length: 25 }, (_, i) => store.ingest([forLago(String(i))])));
      expect(store.writeStats()).toMatchObject({ transactions: 3, jobs: 25, largestBatch: 10 });
    });

    it('turns synchronous_commit back on in its write transactions when the session has it off', async () => {
      const url = new URL(POSTGRES_URL);
      url.searchParams.set('options', '-c synchronous_commit=off');
      const pool = new pg!.Pool({ connectionString: url.toString(), max: 1 });
      try {
        const setting = async () => (await pool.query<{ s: string }>("SELECT current_setting('synchronous_commit') AS s")).rows[0].s;
        expect(await setting()).toBe('off');
        const writer = createGroupCommit(pool, { maxJobs: 10, begin: beginFor(await setting()) });
        const inside = await writer.run(async (query) => (await query<{ s: string }>("SELECT current_setting('synchronous_commit') AS s"))[0].s);
        expect(inside).toBe('on');
        expect(beginFor('remote_apply')).toBe('BEGIN');
        // A store on such a server still works (and its writes are durable).
        const store = await open({ connectionString: url.toString() });
        expect(await store.ingest([forLago('1')])).toMatchObject([{ status: 'accepted' }]);
      } finally {
        await pool.end();
      }
    });
  });

  describe('timeouts and the pool', () => {
    it('fails a write that runs past statementTimeoutMs with BLH_ERR_STORE_WRITE (503), committing nothing', async () => {
      const store = await open({ statementTimeoutMs: 300 });
      const locker = await admin!.connect();
      try {
        await locker.query('BEGIN');
        await locker.query(`LOCK TABLE "${store.schema}".records IN EXCLUSIVE MODE`);
        await expect(store.ingest([forLago('1')])).rejects.toMatchObject({ code: 'BLH_ERR_STORE_WRITE', statusCode: 503, details: { pgCode: '57014' } });
        await locker.query('ROLLBACK');
      } finally {
        locker.release();
      }
      expect(await store.getRecord('telecom', '1')).toBeUndefined();
      expect(await store.ingest([forLago('1')])).toMatchObject([{ status: 'accepted' }]);
    });

    it('never opens more connections than pool.max', async () => {
      const proxy = await createTcpProxy(POSTGRES_URL);
      try {
        const store = await open({ connectionString: proxy.url, pool: { max: 3 } });
        await store.ingest(Array.from({ length: 20 }, (_, i) => forLago(String(i))));
        const busy = await Promise.all([
          ...Array.from({ length: 100 }, (_, i) => store.getRecord('telecom', String(i % 20))),
          ...Array.from({ length: 50 }, (_, i) => store.ingest([forLago(`n${i}`)])),
          ...Array.from({ length: 20 }, () => store.stats({ now: T0 })),
        ]);
        expect(busy).toHaveLength(170);
        expect(proxy.maxConnections).toBeLessThanOrEqual(3);
        expect(proxy.maxConnections).toBeGreaterThan(1);
        expect(store.poolStats()).toMatchObject({ max: 3, waiting: 0 });
        expect(store.poolStats().total).toBeLessThanOrEqual(3);
      } finally {
        await proxy.close();
      }
    });
  });

  describe('when PostgreSQL goes away', () => {
    let proxy: TcpProxy | undefined;
    afterEach(async () => {
      await proxy?.close();
      proxy = undefined;
    });

    it('fails writes with BLH_ERR_STORE_WRITE (503) and reads too, is not ready, and recovers when it is back', async () => {
      proxy = await createTcpProxy(POSTGRES_URL);
      const store = await open({ connectionString: proxy.url, pool: { max: 3, connectionTimeoutMillis: 2000 } });
      await store.ingest([forLago('1')]);
      expect(store.poolStats().total).toBeGreaterThan(0);

      // Idle connections break under the pool: that must not crash the process (an unhandled 'error').
      await proxy.cut();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(store.poolStats().total).toBe(0);

      await expect(store.ingest([forLago('2')])).rejects.toMatchObject({ code: 'BLH_ERR_STORE_WRITE', statusCode: 503 });
      await expect(store.getRecord('telecom', '1')).rejects.toMatchObject({ code: 'BLH_ERR_STORE_WRITE', statusCode: 503 });
      expect(await store.ready()).toBe(false);
      expect(store.writeStats().failedBatches).toBeGreaterThan(0);

      await proxy.restore();
      expect(await store.ready()).toBe(true);
      expect(await store.ingest([forLago('2')])).toMatchObject([{ status: 'accepted' }]);
      expect(await store.getRecord('telecom', '1')).toBeDefined();
    });

    it('fails the batch in flight when the connection drops mid-transaction, and the retry is safe', async () => {
      proxy = await createTcpProxy(POSTGRES_URL);
      const store = await open({ connectionString: proxy.url, pool: { max: 2, connectionTimeoutMillis: 2000 } });
      const locker = await admin!.connect();
      try {
        // Hold the batch inside its transaction, then drop every connection under it.
        await locker.query('BEGIN');
        await locker.query(`LOCK TABLE "${store.schema}".records IN EXCLUSIVE MODE`);
        const inFlight = store.ingest([forLago('1'), forLago('2')]);
        await new Promise((resolve) => setTimeout(resolve, 200));
        await proxy.cut();
        await expect(inFlight).rejects.toMatchObject({ code: 'BLH_ERR_STORE_WRITE', statusCode: 503 });
        await locker.query('ROLLBACK');
      } finally {
        locker.release();
      }
      await proxy.restore();
      expect((await store.ingest([forLago('1'), forLago('2')])).map((o) => o.status)).toEqual(['accepted', 'accepted']);
      expect((await store.stats({ now: T0 })).deliveries.pending).toBe(2);
    });
  });

  describe('lifecycle', () => {
    it('refuses calls after close, lets queued writes finish, and ends its connections', async () => {
      const store = await open();
      const queued = Promise.all(Array.from({ length: 20 }, (_, i) => store.ingest([forLago(String(i))])));
      await Promise.all([store.close(), store.close()]);
      expect((await queued).flat().every((o) => o.status === 'accepted')).toBe(true);
      await expectCode(store.ingest([forLago('x')]), 'BLH_ERR_STORE_CLOSED');
      expect(await store.ready()).toBe(false);
      expect(store.poolStats().total).toBe(0);
      expect(await sql(`SELECT count(*)::int AS n FROM "${store.schema}".records`)).toEqual([{ n: 20 }]);
    });
  });
});
