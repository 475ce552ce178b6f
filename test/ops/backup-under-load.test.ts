/**
 * Losing the machine and coming back from a backup. A SQLite store takes records from four producers
 * while a forwarder delivers them to the mock biller; a backup is taken in the middle of that load. The
 * first machine then delivers a little more and is lost. The backup is restored elsewhere and a
 * forwarder there delivers what the backup holds as pending, to the same biller.
 *
 * What must hold: the restored store has every record whose ingest was acknowledged before the backup
 * began; every record it holds ends up delivered; the biller bills each record once — the rows the lost
 * machine had delivered after the backup are sent again under the same idempotency key and answered
 * "already have it" (409), counted by the biller as duplicates, never as a second charge.
 */
import { afterAll, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import type { SqliteStore } from '../../src/adapters/sqlite/index.ts';
import { createForwarder } from '../../src/forwarder/index.ts';
import type { TargetConfig } from '../../src/forwarder/index.ts';
import { createMockBiller } from '../../src/mock-biller/index.ts';
import { backupSqlite, restoreSqlite } from '../../src/ops/index.ts';
import { openSqlite } from '../../src/ops/sqlite-file.ts';
import { records, SOURCE, tempDir, waitFor } from './support.ts';

const tmp = tempDir();
const biller = createMockBiller({ faults: { latencyMs: 2 } });
afterAll(async () => {
  await biller.close();
  tmp.cleanup();
});

function ids(file: string, sql: string): Set<string> {
  const db = openSqlite(file, { readonly: true });
  try {
    return new Set(db.prepare(sql).pluck().all() as string[]);
  } finally {
    db.close();
  }
}

async function drain(store: SqliteStore, targets: Record<string, TargetConfig>): Promise<void> {
  const forwarder = createForwarder({ store, targets, statsIntervalMs: 0, batchSize: 100 });
  for (let round = 0; round < 200; round++) {
    const stats = await store.stats({ now: new Date() });
    if (stats.deliveries.pending === 0) return;
    await forwarder.runOnce();
  }
  throw new Error('the restored store did not drain');
}

it('restores every record acknowledged before the backup, and the restored forwarder bills nothing twice', async () => {
  const { url } = await biller.listen(0, '127.0.0.1');
  const targets: Record<string, TargetConfig> = { billing: { preset: 'http', url: `${url}/v1/charges`, concurrency: 2 } };
  const a = tmp.file('machine-a.db');
  const storeA = createSqliteStore({ filename: a });
  const forwarderA = createForwarder({ store: storeA, targets, pollIntervalMs: 5, statsIntervalMs: 0, batchSize: 20 });
  await forwarderA.start();

  // Four producers; an id is "acknowledged" once its ingest() resolved (the server answers 202 then).
  const acked: string[] = [];
  let producing = true;
  const producers = [0, 1, 2, 3].map(async (p) => {
    for (let i = 0; producing; i += 5) {
      const outcomes = await storeA.ingest(records(5, { from: p * 1_000_000 + i }));
      for (const o of outcomes) if (o.status === 'accepted') acked.push(o.id);
      await new Promise((r) => setTimeout(r, 10));
    }
  });
  await waitFor(async () => acked.length >= 300 && (await storeA.stats({ now: new Date() })).deliveries.delivered >= 40, 20_000, 'load under way');

  const ackedBeforeBackup = new Set(acked);
  const backup = await backupSqlite({ source: a, to: tmp.file('backup.db') });
  await waitFor(() => acked.length >= ackedBeforeBackup.size + 100, 20_000, 'more load after the backup');
  producing = false;
  await Promise.all(producers);
  await forwarderA.stop();

  // Rows the backup holds as pending. The lost machine delivers the older half of the ones it still has,
  // so some are delivered twice over (by A, then resent by B) and some only by B.
  const pendingInBackup = ids(backup.path, "SELECT record_id FROM outbox WHERE status = 'pending'");
  const stillPendingOnA = [...ids(a, "SELECT record_id FROM outbox WHERE status = 'pending'")].filter((id) => pendingInBackup.has(id));
  expect(stillPendingOnA.length).toBeGreaterThan(1);
  const lastGasp = createForwarder({ store: storeA, targets, statsIntervalMs: 0, batchSize: Math.floor(stillPendingOnA.length / 2) });
  await lastGasp.runOnce();
  await storeA.close(); // the machine is lost
  const deliveredByA = ids(a, "SELECT record_id FROM outbox WHERE status = 'delivered'");

  const b = tmp.file('machine-b.db');
  const restored = await restoreSqlite({ from: backup.path, to: b });
  expect(restored.counts.records).toBe(backup.counts.records);
  const storeB = createSqliteStore({ filename: b });
  try {
    const inB = ids(b, 'SELECT id FROM records');
    const missing = [...ackedBeforeBackup].filter((id) => !inB.has(id));
    expect(missing).toEqual([]);
    expect(inB.size).toBeGreaterThanOrEqual(ackedBeforeBackup.size);

    await drain(storeB, targets);
    const stats = await storeB.stats({ now: new Date() });
    expect(stats.deliveries).toMatchObject({ pending: 0, dead: 0, delivered: inB.size });

    const resent = [...pendingInBackup].filter((id) => deliveredByA.has(id));
    const onlyByB = [...pendingInBackup].filter((id) => !deliveredByA.has(id));
    expect(resent.length).toBeGreaterThan(0);
    expect(onlyByB.length).toBeGreaterThan(0);

    const billed = biller.received().endpoints.charges;
    const billedIds = billed.items.map((item) => (item as { record_id: string }).record_id);
    expect(new Set(billedIds).size).toBe(billedIds.length); // no record charged twice
    expect(billed.distinct).toBe(new Set([...inB, ...deliveredByA]).size);
    expect(billed.duplicates).toBe(resent.length); // each resend answered "already have it"
    for (const item of billed.items) expect((item as { idempotency_key: string }).idempotency_key).toBe(`${SOURCE}:${(item as { record_id: string }).record_id}`);
  } finally {
    await storeB.close();
  }
});
