/**
 * Ingest throughput of the PostgreSQL store beside the SQLite store (synchronous=FULL, a real file),
 * measured in the same run on the same machine:
 *
 *   node --import tsx bench/store-postgres.ts [scale]     (BILHETAGEM_BENCH_POSTGRES_URL, default local)
 *
 * or as `benchStorePostgres()` from bench/run.ts. Cases, each on a fresh schema / file:
 * (a) one record per call, one call at a time: one transaction per record — the floor;
 * (b) 64 concurrent callers of one record each: group commit folds them into shared transactions;
 * (b') the same with maxBatchJobs = 1 (PostgreSQL only): one transaction per call, what (b) costs without group commit;
 * (c) 100-record calls, one at a time.
 * Ratios: PostgreSQL against SQLite for the same case, and each against its own (a).
 *
 * Then the forwarder's share of the store, no HTTP: a store holding accepted records is drained by claims of
 * 100 rows, each (d) acknowledged in one ackMany, as the forwarder settles confirmed deliveries, or (d') row by
 * row with ack() — the naive way, one transaction per row.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createPostgresStore } from '../src/adapters/postgres/index.js';
import { createSqliteStore } from '../src/adapters/sqlite/index.js';
import type { Store } from '../src/ports/store.js';
import { batches, concurrentCallers, oneAtATime, type Run } from './store-load.js';

const POSTGRES_URL = process.env.BILHETAGEM_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Measured {
  rate: number;
  records: number;
  transactions: number;
}

type Opened = { store: Store; transactions: () => number; dispose: () => Promise<void> };

async function measure(open: () => Promise<Opened>, run: Run, records: number): Promise<Measured> {
  const { store, transactions, dispose } = await open();
  try {
    await run(store, Math.max(64, Math.round(records / 20))); // warm up: statements, connections, file growth
    const before = transactions();
    const started = process.hrtime.bigint();
    await run(store, records);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { rate: records / seconds, records, transactions: transactions() - before };
  } finally {
    await dispose();
  }
}

/** Records/s delivered through the store API alone: `records` queued, then claimed 100 at a time and acknowledged. */
async function measureDelivery(open: () => Promise<Opened>, records: number, oneByOne: boolean): Promise<Measured> {
  const { store, transactions, dispose } = await open();
  try {
    await batches(500)(store, records + 100);
    const drain = async (limit: number) => {
      let done = 0;
      while (done < limit) {
        const rows = await store.claim({ target: 'lago', limit: Math.min(100, limit - done), leaseMs: 60_000, worker: 'bench', now: new Date() });
        if (rows.length === 0) throw new Error(`delivery: ${done} of ${limit} rows claimed`);
        const receipt = { at: new Date(), statusCode: 200, latencyMs: 1 };
        if (oneByOne) for (const ref of rows) await store.ack(ref, receipt);
        else if ((await store.ackMany(rows.map((ref) => ({ ref, receipt })))).some((r) => r !== null)) throw new Error('delivery: an ack was refused');
        done += rows.length;
      }
    };
    await drain(100); // warm up: the claim's and the acks' statements
    const before = transactions();
    const started = process.hrtime.bigint();
    await drain(records);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { rate: records / seconds, records, transactions: transactions() - before };
  } finally {
    await dispose();
  }
}

export async function benchStorePostgres(scale = 1): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-bench-'));
  const pg = (await import('pg')).default;
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
  let files = 0;

  const sqlite = async (): Promise<Opened> => {
    const store = createSqliteStore({ filename: join(dir, `bench-${++files}.db`), synchronous: 'FULL' });
    return { store, transactions: () => store.writeStats().transactions, dispose: () => store.close() };
  };
  const postgres =
    (maxBatchJobs?: number) =>
    async (): Promise<Opened> => {
      const schema = `bench_${randomBytes(4).toString('hex')}`;
      const store = await createPostgresStore({ connectionString: POSTGRES_URL, schema, ...(maxBatchJobs ? { maxBatchJobs } : {}) });
      return {
        store,
        transactions: () => store.writeStats().transactions,
        dispose: async () => {
          await store.close();
          await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
        },
      };
    };

  try {
    const settings = (await admin.query<{ name: string; setting: string }>(
      "SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'wal_sync_method', 'server_version') ORDER BY name",
    )).rows;
    console.log(`\n## Store ingest: PostgreSQL vs SQLite (node ${process.version})`);
    console.log(`  PostgreSQL ${settings.map((s) => `${s.name}=${s.setting}`).join(' ')}; SQLite synchronous=FULL, WAL, ${tmpdir()}`);

    const cases: Array<{ name: string; run: Run; records: number; postgresOnly?: number }> = [
      { name: '(a) 1 record per call, one at a time', run: oneAtATime, records: Math.round(1_000 * scale) },
      { name: '(b) 64 concurrent callers x 1 record', run: concurrentCallers(64), records: Math.round(30_000 * scale) },
      { name: "(b') same, maxBatchJobs = 1", run: concurrentCallers(64), records: Math.round(5_000 * scale), postgresOnly: 1 },
      { name: '(c) 100-record calls, one at a time', run: batches(100), records: Math.round(60_000 * scale) },
    ];
    const rows: Array<{ name: string; store: string; m: Measured }> = [];
    for (const c of cases) {
      if (!c.postgresOnly) rows.push({ name: c.name, store: 'sqlite', m: await measure(sqlite, c.run, c.records) });
      rows.push({ name: c.name, store: 'postgres', m: await measure(postgres(c.postgresOnly), c.run, c.records) });
    }

    const base = (store: string) => rows.find((r) => r.store === store)!.m.rate;
    for (const r of rows) {
      const sqliteRate = rows.find((s) => s.store === 'sqlite' && s.name === r.name)?.m.rate;
      const vsSqlite = r.store === 'postgres' && sqliteRate ? `  postgres/sqlite x${(r.m.rate / sqliteRate).toFixed(2)}` : '';
      console.log(
        `  ${r.name.padEnd(38)} ${r.store.padEnd(8)} ${Math.round(r.m.rate).toLocaleString('en').padStart(8)} records/s` +
          `  x${(r.m.rate / base(r.store)).toFixed(1).padEnd(5)} its (a)  ${(r.m.records / r.m.transactions).toFixed(1).padStart(6)} per commit${vsSqlite}`,
      );
    }

    console.log(`\n## Store delivery (the forwarder's share, no HTTP): claims of 100, then acks`);
    const deliveries: Array<{ name: string; store: string; m: Measured }> = [];
    const n = Math.round(20_000 * scale);
    for (const [name, oneByOne, count] of [['(d) claim 100 + one ackMany', false, n], ["(d') claim 100 + ack() per row", true, Math.round(n / 4)]] as const) {
      deliveries.push({ name, store: 'sqlite', m: await measureDelivery(sqlite, count, oneByOne) });
      deliveries.push({ name, store: 'postgres', m: await measureDelivery(postgres(), count, oneByOne) });
    }
    for (const r of deliveries) {
      const same = (store: string, name = r.name) => deliveries.find((d) => d.store === store && d.name === name)!.m.rate;
      const vs = r.store === 'postgres' ? `  postgres/sqlite x${(r.m.rate / same('sqlite')).toFixed(2)}` : '';
      const naive = r.name.startsWith("(d')") ? '' : `  x${(r.m.rate / same(r.store, deliveries[2]!.name)).toFixed(1)} its (d')`;
      console.log(
        `  ${r.name.padEnd(38)} ${r.store.padEnd(8)} ${Math.round(r.m.rate).toLocaleString('en').padStart(8)} records/s` +
          `  ${(1e6 / r.m.rate).toFixed(1).padStart(6)} µs/record  ${(r.m.records / r.m.transactions).toFixed(1).padStart(6)} per commit${vs}${naive}`,
      );
    }
  } finally {
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchStorePostgres(Number(process.argv[2] ?? 1));
}
