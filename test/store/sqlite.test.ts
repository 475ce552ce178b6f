import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore, SCHEMA_VERSION } from '../../src/adapters/sqlite/index.js';
import type { SqliteStore, SqliteStoreOptions } from '../../src/adapters/sqlite/index.js';
import { migrate } from '../../src/adapters/sqlite/migrations.js';
import { runStoreConformance } from './conformance.js';
import { accepted, at, expectCode, forLago, skipped, T0 } from './fixtures.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-store-'));
let files = 0;
const freshFile = () => join(dir, `store-${++files}.db`);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

runStoreConformance('sqlite', () => createSqliteStore({ filename: freshFile() }));

describe('sqlite store', () => {
  const opened: SqliteStore[] = [];
  const open = (options: Partial<SqliteStoreOptions> & { filename: string }) => {
    const store = createSqliteStore(options);
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  it('keeps everything across close and reopen', async () => {
    const filename = freshFile();
    const first = open({ filename });
    await first.ingest([accepted('1'), forLago('2')]);
    const [row] = await first.claim({ target: 'lago', limit: 1, leaseMs: 1000, worker: 'w1', now: T0 });
    await first.ack(row, { at: at(10), statusCode: 200, targetId: 'evt-1' });
    await first.createApiKey({ name: 'k', sources: ['telecom'], prefix: 'blh_1', hash: 'h', createdAt: T0 });
    await first.appendAudit({ actor: 'ana', action: 'login', at: T0 });
    await first.close();

    const second = open({ filename });
    expect(await second.getRecord('telecom', '1')).toMatchObject({ targets: { lago: { status: 'delivered', receipt: { targetId: 'evt-1' } }, stripe: { status: 'pending' } } });
    expect(await second.ingest([accepted('1')])).toMatchObject([{ status: 'duplicate' }]);
    expect((await second.claim({ target: 'lago', limit: 10, leaseMs: 1000, worker: 'w2', now: T0 })).map((r) => r.recordId)).toEqual(['2']);
    expect(await second.findApiKeyByPrefix('blh_1')).toMatchObject({ hash: 'h' });
    expect((await second.listAudit()).items).toHaveLength(1);
  });

  it('creates the schema, in WAL mode, and records its version', async () => {
    const filename = freshFile();
    await open({ filename }).close();
    const db = new Database(filename, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  it('refuses a database written by a newer version, and leaves it untouched', () => {
    const filename = freshFile();
    const db = new Database(filename);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => createSqliteStore({ filename })).toThrow(
      expect.objectContaining({ code: 'BLH_ERR_SCHEMA_TOO_NEW', details: { file: filename, found: SCHEMA_VERSION + 1, supported: SCHEMA_VERSION } }),
    );
    const after = new Database(filename, { readonly: true });
    try {
      expect(after.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 1);
      expect(after.pragma('journal_mode', { simple: true })).toBe('delete');
    } finally {
      after.close();
    }
  });

  it('rolls a failing migration back whole', () => {
    const db = new Database(':memory:');
    try {
      const steps = [
        { version: 1, sql: 'CREATE TABLE a (x INTEGER)' },
        { version: 2, sql: 'CREATE TABLE b (x INTEGER); CREATE TABLE b (y INTEGER)' },
      ];
      expect(() => migrate(db, ':memory:', steps)).toThrow(expect.objectContaining({ code: 'BLH_ERR_STORE_MIGRATION', details: { file: ':memory:', version: 2 } }));
      expect(db.pragma('user_version', { simple: true })).toBe(0);
      expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('refuses a file that is not a database, and unknown options', () => {
    const filename = freshFile();
    writeFileSync(filename, 'this is not a database, it is a text file of some length '.repeat(20));
    expect(() => createSqliteStore({ filename })).toThrow(expect.objectContaining({ code: 'BLH_ERR_STORE_OPEN' }));
    expect(() => createSqliteStore({ filename: join(dir, 'missing-dir', 'x.db') })).toThrow(expect.objectContaining({ code: 'BLH_ERR_STORE_OPEN' }));
    expect(() => createSqliteStore({ filename: freshFile(), synchronus: 'OFF' } as never)).toThrow(expect.objectContaining({ code: 'BLH_ERR_OPTIONS' }));
    expect(() => createSqliteStore({ filename: freshFile(), synchronous: 'SOMETIMES' as never })).toThrow(expect.objectContaining({ code: 'BLH_ERR_OPTIONS' }));
  });

  describe('group commit', () => {
    it('commits concurrent callers in fewer transactions, each answered with its own outcome', async () => {
      const store = open({ filename: freshFile() });
      await store.ingest([forLago('taken')]);
      const before = store.writeStats();
      const ids = Array.from({ length: 64 }, (_, i) => (i === 7 ? 'taken' : `r${i}`));
      const outcomes = await Promise.all(ids.map((id) => store.ingest([forLago(id)])));
      outcomes.forEach((result, i) => expect(result).toEqual([{ source: 'telecom', id: ids[i], status: i === 7 ? 'duplicate' : 'accepted', ...(i === 7 ? { existing: expect.anything() } : {}) }]));
      const after = store.writeStats();
      expect(after.jobs - before.jobs).toBe(64);
      expect(after.transactions - before.transactions).toBeLessThan(64);
      expect(after.transactions - before.transactions).toBe(1);
      expect((await store.stats({ now: T0 })).deliveries.pending).toBe(64);
    });

    it('fails only the caller whose write fails; the batch commits the rest', async () => {
      const store = open({ filename: freshFile() });
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
      expect(store.writeStats()).toMatchObject({ failedBatches: 0 });
      expect(await store.getRecord('telecom', '3')).toBeDefined();
      expect(await store.getRecord('telecom', '4')).toBeDefined();
      expect((await store.getRecord('telecom', '2'))!.targets.lago.status).toBe('delivered');
      expect((await store.getRecord('telecom', '1'))!.deliveries).toEqual([]);
    });

    it('rejects every caller of a batch that cannot commit with BLH_ERR_STORE_WRITE, and commits nothing of it', async () => {
      const filename = freshFile();
      const store = open({ filename, busyTimeoutMs: 0 });
      const other = new Database(filename);
      try {
        other.exec('BEGIN IMMEDIATE');
        expect(await store.ready()).toBe(false);
        const results = await Promise.allSettled([store.ingest([forLago('1')]), store.ingest([forLago('2')])]);
        for (const r of results) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'BLH_ERR_STORE_WRITE', statusCode: 503 } });
        expect(store.writeStats().failedBatches).toBeGreaterThan(0);
        other.exec('ROLLBACK');
        expect(await store.getRecord('telecom', '1')).toBeUndefined();
        expect(await store.ready()).toBe(true);
        expect(await store.ingest([forLago('1')])).toMatchObject([{ status: 'accepted' }]);
      } finally {
        other.close();
      }
    });

    it('splits a long queue into transactions of at most maxBatchJobs calls', async () => {
      const store = open({ filename: freshFile(), maxBatchJobs: 10 });
      await Promise.all(Array.from({ length: 25 }, (_, i) => store.ingest([forLago(String(i))])));
      expect(store.writeStats()).toMatchObject({ transactions: 3, jobs: 25, largestBatch: 10 });
    });
  });

  describe('writer thread', () => {
    it('answers ingest after the commit: another connection sees every row at once', async () => {
      const filename = freshFile();
      const store = open({ filename });
      const other = new Database(filename, { readonly: true });
      try {
        const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => store.ingest([forLago(`t${i}`), skipped(`s${i}`)])));
        expect(outcomes.flat().map((o) => o.status)).toEqual(Array.from({ length: 20 }, () => ['accepted', 'skipped']).flat());
        expect(other.prepare('SELECT count(*) FROM records').pluck().get()).toBe(40);
        expect(other.prepare('SELECT count(*) FROM outbox').pluck().get()).toBe(20);
        await store.recordRejection({ source: 'telecom', id: 'bad', errors: [{ code: 'X', message: 'x' }], rulesetVersion: 'v', receivedAt: T0 });
        expect(other.prepare('SELECT count(*) FROM rejections').pluck().get()).toBe(1);
      } finally {
        other.close();
      }
    });

    it('tells duplicates from conflicts, within one call and across calls', async () => {
      const store = open({ filename: freshFile() });
      expect((await store.ingest([forLago('1'), forLago('1'), forLago('1', { payloadHash: 'other' })])).map((o) => o.status)).toEqual(['accepted', 'duplicate', 'conflict']);
      const [again] = await store.ingest([forLago('1', { payloadHash: 'other' })]);
      expect(again).toEqual({ source: 'telecom', id: '1', status: 'conflict', existing: { verdict: 'accepted', payloadHash: 'hash-1', receivedAt: T0 } });
    });

    it('never makes the main connection wait for the thread’s lock: writes of both, concurrent, with no busy timeout', async () => {
      const store = open({ filename: freshFile(), busyTimeoutMs: 0 });
      await store.ingest(Array.from({ length: 40 }, (_, i) => forLago(`seed${i}`)));
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 40; i++) {
        writes.push(store.ingest([forLago(`n${i}`)]));
        writes.push(store.claim({ target: 'lago', limit: 1, leaseMs: 60_000, worker: `w${i}`, now: T0 }).then(([row]) => row && store.ack(row, { at: T0 })));
        writes.push(store.recordRejection({ source: 'telecom', id: `bad${i}`, errors: [], rulesetVersion: 'v', receivedAt: T0 }));
        if (i % 8 === 0) await new Promise((r) => setImmediate(r));
      }
      const results = await Promise.allSettled(writes);
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      expect((await store.stats({ now: T0 })).deliveries.delivered).toBe(40);
    });
  });

  it('in memory (no second connection, so no writer thread) stores records, their outbox rows and rejections the same way', async () => {
    const store = open({ filename: ':memory:' });
    expect((await store.ingest([forLago('1'), forLago('1'), forLago('1', { payloadHash: 'other' }), accepted('2'), skipped('3')])).map((o) => o.status)).toEqual([
      'accepted',
      'duplicate',
      'conflict',
      'accepted',
      'skipped',
    ]);
    expect(await store.ingest([forLago('1', { payloadHash: 'other' })])).toEqual([{ source: 'telecom', id: '1', status: 'conflict', existing: { verdict: 'accepted', payloadHash: 'hash-1', receivedAt: T0 } }]);
    expect(Object.keys((await store.getRecord('telecom', '2'))!.targets).sort()).toEqual(['lago', 'stripe']);
    expect((await store.getRecord('telecom', '3'))!.targets).toEqual({});
    await store.recordRejection({ source: 'telecom', id: 'bad', errors: [{ code: 'X', message: 'x' }], rulesetVersion: 'v', receivedAt: T0 });
    expect((await store.listRejections()).items).toMatchObject([{ id: 'bad', errors: [{ code: 'X' }] }]);
    expect(store.writeStats().transactions).toBeGreaterThan(0);
  });

  describe('API key lookups', () => {
    const key = { name: 'k', sources: ['telecom'], prefix: 'blh_cached', hash: 'h', createdAt: T0 };

    it('hand out the same key object while nothing was committed, and a new one after any commit', async () => {
      const store = open({ filename: freshFile() });
      await store.createApiKey(key);
      const first = await store.findApiKeyByPrefix('blh_cached');
      expect(await store.findApiKeyByPrefix('blh_cached')).toBe(first);
      await store.ingest([forLago('1')]);
      const afterIngest = await store.findApiKeyByPrefix('blh_cached');
      expect(afterIngest).not.toBe(first);
      expect(afterIngest).toEqual(first);
      await store.appendAudit({ actor: 'ana', action: 'login', at: T0 });
      expect(await store.findApiKeyByPrefix('blh_cached')).not.toBe(afterIngest);
    });

    it('do not find a key revoked by this store, by another store or by another program, at the very next lookup', async () => {
      const filename = freshFile();
      const store = open({ filename });
      const other = open({ filename });
      const raw = new Database(filename);
      try {
        const a = await store.createApiKey({ ...key, prefix: 'blh_a' });
        const b = await store.createApiKey({ ...key, prefix: 'blh_b' });
        await store.createApiKey({ ...key, prefix: 'blh_c' });
        // Each key is in the cache (the same object twice) just before it is revoked.
        const cached = async (prefix: string) => expect(await store.findApiKeyByPrefix(prefix)).toBe(await store.findApiKeyByPrefix(prefix));

        await cached('blh_a');
        await store.revokeApiKey(a.id);
        expect(await store.findApiKeyByPrefix('blh_a')).toBeUndefined();
        await cached('blh_b');
        await other.revokeApiKey(b.id);
        expect(await store.findApiKeyByPrefix('blh_b')).toBeUndefined();
        await cached('blh_c');
        raw.prepare("UPDATE api_keys SET revoked_at = 1 WHERE prefix = 'blh_c'").run();
        expect(await store.findApiKeyByPrefix('blh_c')).toBeUndefined();
      } finally {
        raw.close();
      }
    });

    it('check for changes once for the lookups of one loop turn, yet never answer a lookup asked after a revocation with the key', async () => {
      const filename = freshFile();
      const store = open({ filename });
      const raw = new Database(filename);
      try {
        await store.createApiKey({ ...key, prefix: 'blh_d' });
        await store.createApiKey({ ...key, prefix: 'blh_e' });
        const first = await store.findApiKeyByPrefix('blh_d');
        // Lookups asked in one turn, with nothing committed: every one answered from the cache.
        const same = await Promise.all([store.findApiKeyByPrefix('blh_d'), store.findApiKeyByPrefix('blh_d'), store.findApiKeyByPrefix('blh_e')]);
        expect(same[0]).toBe(first);
        expect(same[1]).toBe(first);
        expect(same[2]?.prefix).toBe('blh_e');
        // After a commit every lookup of the next turn gets one fresh object: the key was read once.
        await store.ingest([forLago('after-commit')]);
        const fresh = await Promise.all([store.findApiKeyByPrefix('blh_d'), store.findApiKeyByPrefix('blh_d')]);
        expect(fresh[0]).not.toBe(first);
        expect(fresh[1]).toBe(fresh[0]);
        // In one turn: a lookup, then another program revokes the key, then a second lookup. The second
        // was asked after the revocation, so it must not find the key, though the first asked in that turn.
        const before = store.findApiKeyByPrefix('blh_d');
        raw.prepare("UPDATE api_keys SET revoked_at = 1 WHERE prefix = 'blh_d'").run();
        const after = store.findApiKeyByPrefix('blh_d');
        expect(await after).toBeUndefined();
        await before;
        expect((await store.findApiKeyByPrefix('blh_e'))?.prefix).toBe('blh_e');
      } finally {
        raw.close();
      }
    });
  });

  it('refuses writes after close but lets calls already queued finish', async () => {
    const store = open({ filename: freshFile() });
    const queued = store.ingest([forLago('1')]);
    await store.close();
    await expect(queued).resolves.toMatchObject([{ status: 'accepted' }]);
    await expectCode(store.ingest([forLago('2')]), 'BLH_ERR_STORE_CLOSED');
  });
});
