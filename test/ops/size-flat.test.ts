/**
 * With retention on, the store stops growing. A simulated month: each day 1,000 records are ingested,
 * delivered and a few rejected, and retention keeps 3 days (archiving the rest). Pruning frees pages that
 * SQLite reuses for the next days' records, so after the first days the file (with its WAL) stays within a
 * few percent of its size at the end of warm-up. The same load without retention, for contrast, grows
 * by about a day's worth every day.
 *
 * BILHETAGEM_PRINT_SIZES=1 prints the figures (quoted in docs/guides/going-to-production.md).
 */
import { existsSync, statSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import type { SqliteStore } from '../../src/adapters/sqlite/index.ts';
import { pruneStore } from '../../src/ops/index.ts';
import { DAY, records, tempDir, T0 } from './support.ts';

const PER_DAY = 1000;
const DAYS = 20;
const WARM_UP = 8;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

function bytes(file: string): number {
  return statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
}

async function day(store: SqliteStore, d: number): Promise<void> {
  const start = T0.getTime() + d * DAY;
  const batch = records(PER_DAY, { from: d * PER_DAY, receivedAt: new Date(start + 1000), pad: 300 });
  for (let i = 0; i < batch.length; i += 500) await store.ingest(batch.slice(i, i + 500));
  for (let i = 0; i < 20; i++) {
    await store.recordRejection({ source: 'urn:test:voice', id: `bad-${d}-${i}`, errors: [], rulesetVersion: 'v', receivedAt: new Date(start + 2000), payload: { id: i } });
  }
  const now = new Date(start + 3000);
  for (;;) {
    const rows = await store.claim({ target: 'billing', limit: 500, leaseMs: 60_000, worker: 'w', now });
    if (rows.length === 0) break;
    await Promise.all(rows.map((row) => store.ack(row, { at: now, statusCode: 201, targetId: `ch-${row.recordId}`, answer: { id: `ch-${row.recordId}` } })));
  }
}

it('keeps the SQLite file flat under steady load with retention on', async () => {
  const file = tmp.file('retained.db');
  const control = tmp.file('unpruned.db');
  const store = createSqliteStore({ filename: file });
  const unpruned = createSqliteStore({ filename: control });
  const sizes: number[] = [];
  const controlSizes: number[] = [];
  try {
    for (let d = 0; d < DAYS; d++) {
      await day(store, d);
      await day(unpruned, d);
      await pruneStore({ store, archiveDir: tmp.file('archive'), olderThan: '3d', now: new Date(T0.getTime() + (d + 1) * DAY - 1) });
      sizes.push(bytes(file));
      controlSizes.push(bytes(control));
    }
    const stats = await store.stats({ now: new Date() });
    expect(stats.records.accepted).toBeLessThanOrEqual(4 * PER_DAY);
    expect(stats.deliveries.pending).toBe(0);
  } finally {
    await store.close();
    await unpruned.close();
  }
  const afterWarmUp = sizes.slice(WARM_UP);
  const bound = sizes[WARM_UP - 1] * 1.1;
  if (process.env.BILHETAGEM_PRINT_SIZES) {
    const mb = (n: number) => (n / 1048576).toFixed(2);
    console.log(`retention 3d, ${PER_DAY} records/day; MiB per day (db + wal):\n  with retention: ${sizes.map(mb).join(' ')}\n  without:        ${controlSizes.map(mb).join(' ')}`);
  }
  expect(Math.max(...afterWarmUp)).toBeLessThanOrEqual(bound);
  expect(controlSizes[DAYS - 1]).toBeGreaterThan(2 * sizes[DAYS - 1]);
});
