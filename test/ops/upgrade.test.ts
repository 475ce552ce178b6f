/**
 * Upgrades: a database written by the first release (test/fixtures/db/release-0.1.0.db, made by make.ts
 * beside it) opens with this code and keeps working; older schemas migrate forward in one transaction;
 * a database from a newer release is refused with a clear, coded message and left untouched.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore, SCHEMA_VERSION } from '../../src/adapters/sqlite/index.ts';
import type { SqliteStore } from '../../src/adapters/sqlite/index.ts';
import { loadDriver } from '../../src/adapters/sqlite/driver.ts';
import { migrate, migrations } from '../../src/adapters/sqlite/migrations.ts';
import { checkConfig, pruneStore } from '../../src/ops/index.ts';
import { openSqlite } from '../../src/ops/sqlite-file.ts';
import { ROOT } from '../support/ruleset.ts';
import { records, tempDir } from './support.ts';

const FIXTURE = join(ROOT, 'test/fixtures/db/release-0.1.0.db');
const tmp = tempDir();
afterAll(() => tmp.cleanup());
let n = 0;
const opened: SqliteStore[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

function copyOfFixture(): string {
  const file = tmp.file(`copy-${++n}.db`);
  copyFileSync(FIXTURE, file);
  return file;
}

function open(filename: string): SqliteStore {
  const store = createSqliteStore({ filename });
  opened.push(store);
  return store;
}

function version(file: string): number {
  const db = openSqlite(file, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

describe('a database written by release 0.1.0', () => {
  it('is the committed fixture, small and at a schema this release knows', () => {
    expect(readFileSync(FIXTURE).length).toBeLessThan(200 * 1024);
    expect(version(FIXTURE)).toBeGreaterThanOrEqual(1);
    expect(version(FIXTURE)).toBeLessThanOrEqual(SCHEMA_VERSION);
  });

  it('opens, is migrated to the current schema, and reads as it was written', async () => {
    const file = copyOfFixture();
    const store = open(file);
    expect(version(file)).toBe(SCHEMA_VERSION);
    const call1 = await store.getRecord('voice-platform', 'call-1');
    expect(call1).toMatchObject({
      verdict: 'accepted',
      receivedAt: new Date('2026-01-15T10:00:00.000Z'),
      targets: { default: { status: 'delivered', receipt: { statusCode: 201, targetId: 'ch_1' } }, lago: { status: 'delivered' } },
    });
    expect((await store.getRecord('voice-platform', 'call-5'))).toMatchObject({ verdict: 'skipped', code: 'FREE_TIER' });
    expect((await store.listDeadLetters()).items.map((d) => [d.recordId, d.code])).toEqual([['call-4', 'HTTP_422']]);
    expect((await store.listRejections()).items.map((r) => r.id)).toEqual(['call-6']);
    expect(await store.findApiKeyByPrefix('blh_fixture01')).toMatchObject({ sources: ['voice-platform'], hash: 'scrypt$fixture$hash' });
    expect(await store.getAccount('admin')).toMatchObject({ role: 'admin' });
    expect((await store.listAudit()).items).toHaveLength(1);
    expect(await store.getRulesetVersion('sha256:release-0.1.0')).toMatchObject({ activatedBy: 'admin' });
    expect((await store.stats({ now: new Date('2026-01-16T00:00:00Z') })).deliveries).toEqual({ pending: 2, delivered: 3, dead: 1, discarded: 1 });
  });

  it('keeps working: duplicates are recognised, new records are taken, pending rows are claimed and settled, retention applies', async () => {
    const store = open(copyOfFixture());
    const [dup] = await store.ingest([{ ...records(1)[0], source: 'voice-platform', id: 'call-1', payloadHash: 'sha256:call-1' }]);
    expect(dup.status).toBe('duplicate');
    expect(await store.ingest(records(3, { receivedAt: new Date('2026-01-20T00:00:00Z') }))).toMatchObject([{ status: 'accepted' }, { status: 'accepted' }, { status: 'accepted' }]);
    const now = new Date('2026-01-20T01:00:00Z');
    const lago = await store.claim({ target: 'lago', limit: 10, leaseMs: 1000, worker: 'new', now });
    expect(lago.map((r) => r.recordId).sort()).toEqual(['call-2', 'call-3']);
    for (const row of lago) await store.ack(row, { at: now, statusCode: 200 });
    expect((await store.getRecord('voice-platform', 'call-2'))!.deliveries.map((d) => d.outcome)).toEqual(['retry', 'delivered', 'dead', 'delivered']);
    const summary = await pruneStore({ store, archiveDir: tmp.file(`archive-${n}`), olderThan: '1d', now: new Date('2026-01-25T00:00:00Z') });
    expect(summary.records).toBe(3); // call-1, call-2 (every row delivered now) and call-5 (skipped); never call-3 or call-4
    expect(await store.getRecord('voice-platform', 'call-4')).toBeDefined();
  });
});

describe('migrations', () => {
  function v1Database(): string {
    const file = tmp.file(`v1-${++n}.db`);
    const Driver = loadDriver();
    const db = new Driver(file);
    migrate(db, file, migrations.slice(0, 1));
    db.prepare("INSERT INTO records (source, id, type, payload, payload_hash, verdict, ruleset_version, received_at) VALUES ('s', 'r1', 't', '{}', 'h', 'accepted', 'v', 0)").run();
    db.prepare("INSERT INTO outbox (record_seq, source, record_id, target, body, created_at, next_attempt_at) VALUES (1, 's', 'r1', 'lago', '{}', 0, 0)").run();
    db.close();
    return file;
  }

  it('runs every missing step forward when the store opens, keeping the data', async () => {
    const file = v1Database();
    const store = open(file);
    expect(version(file)).toBe(SCHEMA_VERSION);
    expect((await store.claim({ target: 'lago', limit: 10, leaseMs: 1000, worker: 'w', now: new Date(1) })).map((r) => r.recordId)).toEqual(['r1']);
    const db = openSqlite(file, { readonly: true });
    try {
      const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('records_received', 'rejections_received', 'dead_letters_outbox')").pluck().all();
      expect(indexes).toHaveLength(3);
    } finally {
      db.close();
    }
  });

  it('rolls a failing step back whole: the database stays at its version with its data', () => {
    const file = v1Database();
    const Driver = loadDriver();
    const db = new Driver(file);
    try {
      expect(() => migrate(db, file, [...migrations, { version: SCHEMA_VERSION + 1, sql: 'CREATE TABLE records (x INTEGER)' }])).toThrow(
        expect.objectContaining({ code: 'BLH_ERR_STORE_MIGRATION', details: { file, version: SCHEMA_VERSION + 1 } }),
      );
      expect(db.pragma('user_version', { simple: true })).toBe(1);
      expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'records_received'").pluck().get()).toBe(0);
      expect(db.prepare('SELECT count(*) FROM records').pluck().get()).toBe(1);
    } finally {
      db.close();
    }
  });
});

describe('a database from a newer release', () => {
  function newer(): string {
    const file = copyOfFixture();
    const db = openSqlite(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    return file;
  }

  it('is refused by the store with a clear, coded message, and left untouched', () => {
    const file = newer();
    const before = readFileSync(file);
    expect(() => createSqliteStore({ filename: file })).toThrow(
      expect.objectContaining({
        code: 'BLH_ERR_SCHEMA_TOO_NEW',
        message: `The database ${file} has schema version ${SCHEMA_VERSION + 1}, but this version of bilhetagem knows only up to ${SCHEMA_VERSION}; upgrade bilhetagem or use a backup`,
      }),
    );
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('fails the configuration check that serve runs first, naming the field', async () => {
    const file = newer();
    const report = await checkConfig({ rules: join(ROOT, 'rules'), mappings: join(ROOT, 'mappings'), store: { kind: 'sqlite', filename: file } });
    expect(report.ok).toBe(false);
    expect(report.errors).toEqual([{ field: 'db', code: 'BLH_ERR_SCHEMA_TOO_NEW', message: expect.stringContaining(`has schema version ${SCHEMA_VERSION + 1}, but this version of bilhetagem knows only up to ${SCHEMA_VERSION}`) }]);
  });
});
