/**
 * stats() on SQLite reads counts the writes keep (src/adapters/sqlite/counts.ts, schema step 6) instead of
 * scanning whole tables. These tests hold the counts to a scan of the file after every kind of write — from
 * two connections at once, as two processes would — and check that step 6 fills them from an older file.
 */
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../src/adapters/sqlite/index.js';
import { counted, countsWorkload, seedBeforeCounts } from './counts-workload.js';
import { T0 } from './fixtures.js';
import * as recount from '../../src/cli/commands/recount.ts';
import { runCommand } from '../ops/cli-helpers.ts';
import { openedStores, sqliteFiles } from './sqlite-support.js';

const freshFile = sqliteFiles('bilhetagem-counts-');

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


describe('sqlite: the counts stats() reads', () => {
  const open = openedStores();
  const expectCounts = async (store: SqliteStore, filename: string) => expect(counted(await store.stats({ now: T0 }))).toEqual(scanned(filename));

  it('match a scan of the file after every kind of write, from two connections', async () => {
    const filename = freshFile();
    const a = open(filename);
    const b = open(filename);
    await countsWorkload(a, b, (store) => expectCounts(store as SqliteStore, filename));
  });

  it('match a scan in a store in memory too, whose writes run on the main connection instead of the writer thread', async () => {
    const store = open(':memory:');
    // No second connection to scan with: recountStats() scans in the store's own and answers what differed.
    let rejected = 0;
    await countsWorkload(store, store, async (s) => {
      rejected = Math.max(rejected, (await s.stats({ now: T0 })).records.rejected);
      expect(await (s as SqliteStore).recountStats()).toEqual([]);
    });
    expect(rejected).toBe(2);
  });

  it('are filled from the file by schema step 6 when an older file is opened', async () => {
    const filename = freshFile();
    const store = open(filename);
    const before = await seedBeforeCounts(store);
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

  it('are counted again from a scan by recountStats() and `bilhetagem recount`, after rows were changed by hand', async () => {
    const filename = freshFile();
    const store = open(filename);
    await seedBeforeCounts(store);
    // By hand, as an operator with the sqlite3 shell would: the delivered row and its record go, a rejection comes.
    const db = new Database(filename);
    db.exec("DELETE FROM outbox WHERE status = 'delivered'; DELETE FROM records WHERE id = '4'");
    db.prepare("INSERT INTO rejections (source, record_id, type, errors, ruleset_version, received_at, payload) VALUES ('telecom', 'r9', 't', '[]', 'v1', 0, '{}')").run();
    db.close();
    expect(counted(await store.stats({ now: T0 }))).not.toEqual(scanned(filename));
    const cli = await runCommand(recount, ['recount', '--db', filename], { cwd: dirname(filename) });
    expect(cli).toMatchObject({ code: 0, stderr: '' });
    expect(cli.stdout).toContain('3 counts corrected from a scan:');
    expect(cli.stdout).toMatch(/records skipped\s+1\s+0/);
    expect(cli.stdout).toMatch(/rejections\s+1\s+2/);
    expect(cli.stdout).toMatch(/deliveries to lago delivered\s+1\s+0/);
    expect(counted(await store.stats({ now: T0 }))).toEqual(scanned(filename));
    expect(await store.recountStats()).toEqual([]);
    expect((await runCommand(recount, ['recount', '--db', filename], { cwd: dirname(filename) })).stdout).toBe('every count was right; nothing changed\n');
  });
});
