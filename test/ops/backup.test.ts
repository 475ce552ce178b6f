import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore, SCHEMA_VERSION } from '../../src/adapters/sqlite/index.ts';
import type { SqliteStore } from '../../src/adapters/sqlite/index.ts';
import { loadDriver } from '../../src/adapters/sqlite/driver.ts';
import { migrate, migrations } from '../../src/adapters/sqlite/migrations.ts';
import { backupSqlite, checkBackup, restoreSqlite } from '../../src/ops/index.ts';
import { openSqlite } from '../../src/ops/sqlite-file.ts';
import { records, tempDir, T0 } from './support.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let n = 0;
const fresh = (name = 'db') => tmp.file(`${name}-${++n}.db`);

const opened: SqliteStore[] = [];
function open(filename: string): SqliteStore {
  const store = createSqliteStore({ filename });
  opened.push(store);
  return store;
}
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

async function seeded(count = 20): Promise<string> {
  const file = fresh();
  const store = open(file);
  await store.ingest(records(count));
  const [row, retried] = await store.claim({ target: 'billing', limit: 2, leaseMs: 1000, worker: 'w', now: T0 });
  // A delivery is held on its outbox row; a retry is a row of attempts.
  await store.ack(row, { at: T0, statusCode: 201, targetId: 'ch_1' });
  await store.retryLater(retried, { at: T0, statusCode: 503, error: 'HTTP 503', nextAttemptAt: T0 });
  await store.createApiKey({ name: 'k', sources: ['*'], prefix: 'blh_k', hash: 'h' });
  return file;
}

describe('backupSqlite', () => {
  it('writes one self-contained file and a manifest that match the database', async () => {
    const source = await seeded();
    await opened.splice(0)[0].close(); // nothing else has the file open: the backup opens it alone
    const to = fresh('backup');
    const result = await backupSqlite({ source, to });
    expect(result).toMatchObject({ path: to, schemaVersion: SCHEMA_VERSION, counts: { records: 20, outbox: 20, attempts: 1, api_keys: 1 } });
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
    const manifest = JSON.parse(readFileSync(`${to}.json`, 'utf8'));
    expect(manifest).toMatchObject({ format: 'bilhetagem-sqlite-backup', file: expect.stringMatching(/^backup-/), sha256: result.sha256, counts: result.counts });
    expect(existsSync(`${to}-wal`)).toBe(false);
    const db = openSqlite(to, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
    expect(readdirSync(tmp.dir).filter((f) => f.includes('.partial'))).toEqual([]);
  });

  it('copies the snapshot it counted while another connection keeps writing', async () => {
    const source = await seeded(100);
    const writer = open(source);
    let next = 1000;
    let writing = true;
    const load = (async () => {
      while (writing) await writer.ingest(records(20, { from: (next += 20) }));
    })();
    const result = await backupSqlite({ source, to: fresh('backup') });
    writing = false;
    await load;
    const live = (await writer.stats({ now: T0 })).records.accepted;
    expect(result.counts.records).toBeGreaterThanOrEqual(100);
    expect(live).toBeGreaterThan(result.counts.records);
    expect((await checkBackup(result.path)).counts).toEqual(result.counts);
  });

  it('names the file itself when given a folder, and refuses to overwrite, to copy onto itself, or a missing source', async () => {
    const source = await seeded();
    const dir = tempDir();
    try {
      const result = await backupSqlite({ source, to: dir.dir, clock: () => Date.parse('2026-03-01T02:03:04.567Z') });
      expect(result.path).toBe(dir.file('bilhetagem-20260301T020304Z.db'));
      await expect(backupSqlite({ source, to: result.path })).rejects.toMatchObject({ code: 'BLH_ERR_BACKUP_FAILED', message: expect.stringContaining('exists already') });
      await expect(backupSqlite({ source, to: result.path, overwrite: true })).resolves.toMatchObject({ path: result.path });
      await expect(backupSqlite({ source, to: source })).rejects.toMatchObject({ code: 'BLH_ERR_BACKUP_FAILED' });
      await expect(backupSqlite({ source: tmp.file('nothing.db'), to: fresh() })).rejects.toMatchObject({ code: 'BLH_ERR_BACKUP_FAILED', message: expect.stringContaining('no database') });
      await expect(backupSqlite({ source, to: tmp.file('no-such-dir/x.db') })).rejects.toMatchObject({ code: 'BLH_ERR_BACKUP_FAILED' });
    } finally {
      dir.cleanup();
    }
  });
});

describe('checkBackup', () => {
  it('refuses a changed file, a manifest that does not match, a file that is not a database, and a newer schema', async () => {
    const { path } = await backupSqlite({ source: await seeded(), to: fresh('backup') });
    await expect(checkBackup(path)).resolves.toMatchObject({ schemaVersion: SCHEMA_VERSION, manifest: { format: 'bilhetagem-sqlite-backup' } });

    const tampered = fresh('tampered');
    copyFileSync(path, tampered);
    const manifest = JSON.parse(readFileSync(`${path}.json`, 'utf8'));
    writeFileSync(`${tampered}.json`, JSON.stringify(manifest));
    const db = openSqlite(tampered);
    db.exec("DELETE FROM api_keys");
    db.close();
    await expect(checkBackup(tampered)).rejects.toMatchObject({ code: 'BLH_ERR_BACKUP_INVALID', message: expect.stringContaining('sha256') });

    const recount = fresh('recount');
    copyFileSync(path, recount);
    writeFileSync(`${recount}.json`, JSON.stringify({ ...manifest, counts: { ...manifest.counts, records: 21 } }));
    await expect(checkBackup(recount)).rejects.toMatchObject({ code: 'BLH_ERR_BACKUP_INVALID', message: expect.stringContaining('records has 20 rows, its manifest says 21') });

    const text = fresh('text');
    writeFileSync(text, 'not a database at all, just some text '.repeat(50));
    await expect(checkBackup(text)).rejects.toMatchObject({ code: 'BLH_ERR_BACKUP_INVALID', message: expect.stringContaining('not a SQLite database') });

    const newer = fresh('newer');
    copyFileSync(path, newer);
    const w = openSqlite(newer);
    w.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    w.close();
    await expect(checkBackup(newer)).rejects.toMatchObject({ code: 'BLH_ERR_SCHEMA_TOO_NEW' });

    await expect(checkBackup(tmp.file('missing.db'))).rejects.toMatchObject({ code: 'BLH_ERR_BACKUP_INVALID' });
  });
});

describe('restoreSqlite', () => {
  it('restores to a new place, and the store there works', async () => {
    const { path } = await backupSqlite({ source: await seeded(), to: fresh('backup') });
    const to = fresh('restored');
    const result = await restoreSqlite({ from: path, to });
    expect(result).toMatchObject({ path: to, replaced: null, schemaVersion: SCHEMA_VERSION, counts: { records: 20 } });
    const store = open(to);
    expect(await store.ingest(records(1, { from: 20 }))).toMatchObject([{ status: 'accepted' }]);
    expect(await store.claim({ target: 'billing', limit: 100, leaseMs: 1000, worker: 'w', now: T0 })).toHaveLength(20);
    expect(await store.findApiKeyByPrefix('blh_k')).toMatchObject({ hash: 'h' });
  });

  it('refuses to replace a database unless forced, keeps the one it replaces, and never replaces one in use', async () => {
    const { path } = await backupSqlite({ source: await seeded(5), to: fresh('backup') });
    const live = fresh('live');
    const store = open(live);
    await store.ingest(records(3, { from: 100 }));
    await expect(restoreSqlite({ from: path, to: live })).rejects.toMatchObject({ code: 'BLH_ERR_RESTORE_REFUSED', message: expect.stringContaining('--force') });
    await expect(restoreSqlite({ from: path, to: live, force: true })).rejects.toMatchObject({ code: 'BLH_ERR_RESTORE_REFUSED', message: expect.stringContaining('in use') });
    expect((await store.stats({ now: T0 })).records.accepted).toBe(3);
    await opened.splice(opened.indexOf(store), 1)[0].close();

    const result = await restoreSqlite({ from: path, to: live, force: true, clock: () => Date.parse('2026-03-01T00:00:00Z') });
    expect(result.replaced).toBe(`${live}.before-restore-20260301T000000Z`);
    expect(existsSync(`${live}-wal`)).toBe(false);
    const restored = open(live);
    expect((await restored.stats({ now: T0 })).records.accepted).toBe(5);
    const kept = open(result.replaced!);
    expect((await kept.stats({ now: T0 })).records.accepted).toBe(3);
  });

  it('checks the backup before touching anything', async () => {
    const live = fresh('live');
    await open(live).ingest(records(3));
    await opened.splice(0)[0].close();
    const broken = fresh('broken');
    writeFileSync(broken, 'nope '.repeat(100));
    await expect(restoreSqlite({ from: broken, to: live, force: true })).rejects.toMatchObject({ code: 'BLH_ERR_BACKUP_INVALID' });
    expect((await open(live).stats({ now: T0 })).records.accepted).toBe(3);
  });

  it('migrates a backup made by an earlier schema forward', async () => {
    const old = fresh('v1');
    const Driver = loadDriver();
    const raw = new Driver(old);
    migrate(raw, old, migrations.slice(0, 1));
    raw.prepare("INSERT INTO records (source, id, type, payload, payload_hash, verdict, ruleset_version, received_at) VALUES ('s', '1', 't', '{}', 'h', 'skipped', 'v', 0)").run();
    raw.close();
    const result = await restoreSqlite({ from: old, to: fresh('restored') });
    expect(result).toMatchObject({ backupSchemaVersion: 1, schemaVersion: SCHEMA_VERSION, counts: { records: 1 }, manifest: null });
  });
});
