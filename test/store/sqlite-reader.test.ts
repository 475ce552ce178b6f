/**
 * The admin panel's reads and stats() of a SQLite store in a file run on a thread of their own
 * (reader-thread.ts), so a count over a large window or a large backlog does not hold the event loop: the loop
 * keeps turning while one is out. A store in memory reads on its own connection, within the call — the control
 * that shows the test can tell them apart.
 */
import { describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../src/adapters/sqlite/index.js';
import { createSqliteStore } from '../../src/adapters/sqlite/index.js';
import { accepted, at, T0 } from './fixtures.js';
import { openedStores, sqliteFiles } from './sqlite-support.js';

const freshFile = sqliteFiles('bilhetagem-reader-');

/**
 * Whether `read` is answered without the event loop turning: within microtasks alone, as a read made on the
 * calling thread is. A read on another thread is answered by a message, which only a turn of the loop
 * delivers, however fast that thread is. (Counting turns while the read is out was timing-dependent: a quick
 * thread could answer within the turn that sent it.)
 */
async function answeredWithinCall(read: () => Promise<unknown>): Promise<boolean> {
  let answered = false;
  const reading = read().then(() => (answered = true));
  for (let i = 0; i < 100 && !answered; i++) await null;
  const within = answered;
  await reading;
  return within;
}

describe('sqlite: the admin panel reads off the event loop', () => {
  const open = openedStores();

  const seeded = async (store: SqliteStore) => {
    await store.ingest(Array.from({ length: 50 }, (_, i) => accepted(String(i), { receivedAt: at(i * 1000) })));
    return store;
  };

  it('counts, searches and reads stats on the reader thread for a store in a file, with the same answers as in memory', async () => {
    const file = await seeded(open(freshFile()));
    const memory = await seeded(createSqliteStore({ filename: ':memory:' }));
    try {
      const window = { from: T0, to: at(60_000), bucketMs: 10_000 };
      expect(await answeredWithinCall(() => file.timeSeries(window))).toBe(false);
      expect(await answeredWithinCall(() => memory.timeSeries(window))).toBe(true);
      expect(await file.timeSeries(window)).toEqual(await memory.timeSeries(window));
      expect((await file.timeSeries(window)).records.accepted).toEqual([10, 10, 10, 10, 10, 0]);

      // stats() too: its pending rows are counted by a scan, which a backlog of millions makes long.
      expect(await answeredWithinCall(() => file.stats({ now: T0 }))).toBe(false);
      expect(await answeredWithinCall(() => memory.stats({ now: T0 }))).toBe(true);
      expect(await file.stats({ now: T0 })).toEqual(await memory.stats({ now: T0 }));

      const search = { from: T0, to: at(60_000), limit: 5 };
      expect(await answeredWithinCall(() => file.searchRecords(search))).toBe(false);
      expect(await answeredWithinCall(() => memory.searchRecords(search))).toBe(true);
      const found = await file.searchRecords(search);
      expect(found).toEqual(await memory.searchRecords(search));
      expect(found.items.map((h) => h.id)).toEqual(['49', '48', '47', '46', '45']);
    } finally {
      await memory.close();
    }
  });

  it('sees what was written before the read, and answers after the store reopens', async () => {
    const filename = freshFile();
    const store = await seeded(open(filename));
    const window = { from: T0, to: at(60_000), bucketMs: 60_000 };
    expect((await store.timeSeries(window)).records.accepted).toEqual([50]);
    await store.ingest([accepted('late', { receivedAt: at(59_000) })]);
    expect((await store.timeSeries(window)).records.accepted).toEqual([51]);
    await store.close();
    await expect(store.timeSeries(window)).rejects.toMatchObject({ code: 'BLH_ERR_STORE_CLOSED' });
    expect((await open(filename).timeSeries(window)).records.accepted).toEqual([51]);
  });
});
