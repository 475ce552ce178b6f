/**
 * stats() on SQLite reads counts the writes keep (src/adapters/sqlite/counts.ts, schema step 6) instead of
 * scanning whole tables. These tests hold the counts to a scan of the file after every kind of write — from
 * two connections at once, as two processes would — and check that step 6 fills them from an older file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.js';
import type { SqliteStore } from '../../src/adapters/sqlite/index.js';
import type { RejectionEntry, StoreStats } from '../../src/ports/store.js';
import { accepted, at, forLago, skipped, T0 } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-counts-'));
let files = 0;
const freshFile = () => join(dir, `store-${++files}.db`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What stats() answers, counted the slow way: by scanning the file's tables. */
function scanned(filename: string) {
  const db = new Database(filename, { readonly: true });
  try {
    const records = { accepted: 0, skipped: 0, rejected: db.prepare('SELECT count(*) FROM rejections').pluck().get() as number };
    for (const r of db.prepare('SELECT verdict, count(*) AS n FROM records GROUP BY verdict').all() as { verdict: 'accepted' | 'skipped'; n: number }[]) records[r.verdict] = r.n;
    const targets: Record<string, Record<string, number>> = {};
    const deliveries = { pending: 0, delivered: 0, dead: 0, discarded: 0 };
    for (const r of db.prepare('SELECT target, status, count(*) AS n FROM outbox GROUP BY target, status').all() as { target: string; status: keyof typeof deliveries; n: number }[]) {
      (targets[r.target] ??= { pending: 0, delivered: 0, dead: 0, discarded: 0 })[r.status] = r.n;
      deliveries[r.status] += r.n;
    }
    return { records, targets, deliveries };
  } finally {
    db.close();
  }
}

function counted(stats: StoreStats) {
  const targets: Record<string, Record<string, number>> = {};
  for (const [name, t] of Object.entries(stats.targets)) targets[name] = { pending: t.pending, delivered: t.delivered, dead: t.dead, discarded: t.discarded };
  return { records: stats.records, targets, deliveries: stats.deliveries };
}

describe('sqlite: the counts stats() reads', () => {
  const opened: SqliteStore[] = [];
  const open = (filename: string) => {
    const store = createSqliteStore({ filename });
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });
  const expectCounts = async (store: SqliteStore, filename: string) => expect(counted(await store.stats({ now: T0 }))).toEqual(scanned(filename));

  it('match a scan of the file after every kind of write, from two connections', async () => {
    const filename = freshFile();
    const a = open(filename);
    const b = open(filename);
    // Ingest: accepted (two targets each), skipped, a duplicate and a conflict (neither counts), rejections.
    const outcomes = await a.ingest([accepted('1'), accepted('2'), accepted('3'), forLago('4'), forLago('5'), skipped('6'), accepted('1'), accepted('2', { payloadHash: 'other' })]);
    expect(outcomes.map((o) => o.status)).toEqual(['accepted', 'accepted', 'accepted', 'accepted', 'accepted', 'skipped', 'duplicate', 'conflict']);
    await b.ingest([forLago('7'), skipped('8')]);
    await a.recordRejection({ source: 'telecom', id: 'r1', type: 'call.completed', errors: [{ code: 'X' }], rulesetVersion: 'v1', receivedAt: T0, payload: {} } as RejectionEntry);
    await b.recordRejection({ source: 'telecom', id: 'r2', type: 'call.completed', errors: [{ code: 'X' }], rulesetVersion: 'v1', receivedAt: T0, payload: {} } as RejectionEntry);
    await expectCounts(a, filename);

    // Deliveries: ack, ackMany with a refused entry, a retry (no change), dead letters.
    const rows = await a.claim({ target: 'lago', limit: 100, leaseMs: 60_000, worker: 'w1', now: T0 });
    expect(rows).toHaveLength(6);
    await a.ack(rows[0]!, { at: at(1), statusCode: 200 });
    const results = await a.ackMany([
      { ref: rows[1]!, receipt: { at: at(2), statusCode: 200 } },
      { ref: rows[2]!, receipt: { at: at(2), statusCode: 200 } },
      { ref: { ...rows[3]!, leaseToken: 'not-the-lease' }, receipt: { at: at(2), statusCode: 200 } },
    ]);
    expect(results.map((r) => (r === null ? null : (r as unknown as { code: string }).code))).toEqual([null, null, 'BLH_ERR_LEASE_LOST']);
    await a.retryLater(rows[3]!, { at: at(3), error: 'HTTP 503', statusCode: 503, nextAttemptAt: at(10) });
    await a.deadLetter(rows[4]!, { at: at(4), reason: 'HTTP 400', code: 'HTTP_400', statusCode: 400 });
    await a.deadLetter(rows[5]!, { at: at(4), reason: 'HTTP 400', code: 'HTTP_400', statusCode: 400 });
    await expectCounts(b, filename);

    // Hand-over claims (leases on the rows), settled through the other connection.
    const handed = await a.claim({ target: 'stripe', limit: 2, leaseMs: 60_000, worker: 'relay', now: T0, handOver: true });
    expect(await b.ackMany(handed.map((ref) => ({ ref, receipt: { at: at(5), statusCode: 200 } })))).toEqual([null, null]);
    await expectCounts(a, filename);

    // Dead letters retried and discarded from the other connection; a replay of what was delivered.
    const [first, second] = (await b.listDeadLetters()).items;
    await b.retryDeadLetter(first!.id, { at: at(6), by: 'ana' });
    await b.discardDeadLetter(second!.id, { at: at(6), by: 'ana' });
    expect(await b.requeueDelivered({ from: T0, to: at(3), target: 'lago', at: at(7) })).toBe(3);
    await expectCounts(a, filename);
    await expect(b.retryDeadLetter(first!.id, { at: at(8), by: 'ana' })).rejects.toMatchObject({ code: 'BLH_ERR_STORE_STATE' });
    await expectCounts(b, filename);

    // Everything delivered, then pruned: records, their rows and the rejections go, and so do their counts.
    for (const target of ['lago', 'stripe']) {
      const rest = await a.claim({ target, limit: 100, leaseMs: 60_000, worker: 'w1', now: at(100) });
      expect(await a.ackMany(rest.map((ref) => ({ ref, receipt: { at: at(100), statusCode: 200 } })))).not.toContainEqual(expect.any(Error));
    }
    const prunable = (await b.listPrunable({ before: at(1000) })).items;
    const rejections = (await b.listPrunableRejections({ before: at(1000) })).items;
    const pruned = await b.prune({ before: at(1000), records: prunable.map((r) => ({ source: r.source, id: r.id })), rejections: rejections.map((r) => r.seq) });
    // All but the record whose dead letter was discarded (a discarded row keeps its record).
    expect(pruned).toMatchObject({ records: 7, rejections: 2 });
    await expectCounts(a, filename);
    expect((await a.stats({ now: T0 })).records).toEqual({ accepted: 1, skipped: 0, rejected: 0 });
  });

  it('are filled from the file by schema step 6 when an older file is opened', async () => {
    const filename = freshFile();
    const store = open(filename);
    await store.ingest([accepted('1'), accepted('2'), forLago('3'), skipped('4')]);
    await store.recordRejection({ source: 'telecom', id: 'r1', type: 'call.completed', errors: [{ code: 'X' }], rulesetVersion: 'v1', receivedAt: T0, payload: {} } as RejectionEntry);
    const rows = await store.claim({ target: 'lago', limit: 100, leaseMs: 60_000, worker: 'w1', now: T0 });
    await store.ack(rows[0]!, { at: at(1), statusCode: 200 });
    await store.deadLetter(rows[1]!, { at: at(1), reason: 'HTTP 400', code: 'HTTP_400', statusCode: 400 });
    const before = counted(await store.stats({ now: T0 }));
    await store.close();
    // The file as step 5 left it: no counts at all.
    const db = new Database(filename);
    db.exec('DROP TABLE stat_counts');
    db.pragma('user_version = 5');
    db.close();
    const reopened = open(filename);
    expect(counted(await reopened.stats({ now: T0 }))).toEqual(before);
    await expectCounts(reopened, filename);
    expect(before.targets.lago).toEqual({ pending: 1, delivered: 1, dead: 1, discarded: 0 });
  });
});
