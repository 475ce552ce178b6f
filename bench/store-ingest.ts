/**
 * Ingest throughput of the SQLite store with synchronous=FULL on a real file: what group commit buys.
 *
 *   node --import tsx bench/store-ingest.ts [scale]
 *
 * or as `benchStoreIngest()` from bench/run.ts.
 * (a) one record per call, one call at a time: one transaction (one fsync) per record — the baseline;
 * (b) 64 concurrent callers of one record each: group commit folds them into shared transactions;
 * (c) 100-record calls, one at a time.
 * Each case runs on a fresh file in a temp dir; ratios are against (a) measured in the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createSqliteStore } from '../src/adapters/sqlite/index.js';
import type { SqliteStore } from '../src/adapters/sqlite/index.js';
import { batches, concurrentCallers, oneAtATime } from './store-load.js';

interface Result {
  name: string;
  records: number;
  seconds: number;
  transactions: number;
}

async function measure(dir: string, name: string, records: number, run: (store: SqliteStore, records: number) => Promise<void>): Promise<Result> {
  const store = createSqliteStore({ filename: join(dir, `${name.replace(/\W+/g, '-')}.db`), synchronous: 'FULL' });
  try {
    await run(store, Math.max(64, Math.round(records / 20))); // warm up: statements, file growth
    const before = store.writeStats().transactions;
    const started = process.hrtime.bigint();
    await run(store, records);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { name, records, seconds, transactions: store.writeStats().transactions - before };
  } finally {
    await store.close();
  }
}

export async function benchStoreIngest(scale = 1): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-bench-'));
  try {
    const results = [
      await measure(dir, '(a) 1 record per transaction', Math.round(2_000 * scale), oneAtATime),
      await measure(dir, '(b) group commit, 64 callers x 1 record', Math.round(40_000 * scale), concurrentCallers(64)),
      await measure(dir, '(c) 100-record batches', Math.round(100_000 * scale), batches(100)),
    ];
    const base = results[0].records / results[0].seconds;
    console.log(`SQLite store ingest, synchronous=FULL, WAL, ${tmpdir()} (node ${process.version})`);
    for (const r of results) {
      const rate = r.records / r.seconds;
      console.log(
        `${r.name.padEnd(42)} ${Math.round(rate).toLocaleString('en').padStart(9)} records/s  x${(rate / base).toFixed(1).padEnd(6)}` +
          ` ${r.records} records in ${r.transactions} transactions (${(r.records / r.transactions).toFixed(1)} per commit)`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchStoreIngest(Number(process.argv[2] ?? 1));
}
