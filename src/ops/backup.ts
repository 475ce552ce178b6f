/**
 * Online backup and restore of the SQLite store.
 *
 * backupSqlite opens its own read-only connection to the file (the server may be running in another
 * process and keeps taking records), begins a read transaction, counts every table, and copies the
 * pages with SQLite's online backup API in one step inside that same transaction. WAL mode lets writers
 * go on meanwhile, and the copy is exactly the snapshot that was counted: every record whose ingest
 * had committed — whose 202 had been sent — when the backup began is in it. The copy is then checked
 * (integrity, foreign keys, counts and schema version against the snapshot), switched to a single
 * self-contained file (journal_mode=DELETE), made durable and moved into place, with a manifest beside
 * it (`<file>.json`: sha256, size, schema version, counts) that restore checks.
 *
 * restoreSqlite checks the backup first, refuses to replace an existing database unless told to (and
 * even then refuses one that is open in another process), keeps the replaced file, and opens the result
 * with the store once so it is migrated to this version's schema before anything else uses it.
 */
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createSqliteStore } from '../adapters/sqlite/index.ts';
import { SCHEMA_VERSION } from '../adapters/sqlite/migrations.ts';
import { BilhetagemError } from '../errors.ts';
import { SchemaTooNewError } from '../ports/errors.ts';
import { OpsError, OpsErrorCodes } from './errors.ts';
import { commitFile, partialName, sha256File, writeFileAtomic } from './files.ts';
import { countTables, integrityProblems, missingTables, openSqlite, schemaVersionOf } from './sqlite-file.ts';
import type { TableCounts } from './sqlite-file.ts';

export const BACKUP_FORMAT = 'bilhetagem-sqlite-backup';

/** What `<backup>.json` holds. */
export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  version: 1;
  file: string;
  bytes: number;
  sha256: string;
  schemaVersion: number;
  /** Rows per table in the backup: the snapshot's counts. */
  counts: TableCounts;
  /** When the snapshot was taken: every commit before this is in the backup. */
  snapshotAt: string;
  finishedAt: string;
  source: string;
}

export interface BackupOptions {
  /** The live database file. */
  source: string;
  /** The backup file to write; an existing folder gets `bilhetagem-<time>.db` inside it. */
  to: string;
  /** Replace an existing backup file of that name. Default false. */
  overwrite?: boolean;
  /** How long to wait for a lock on the source. Default 5000. */
  busyTimeoutMs?: number;
  /** The clock, for the manifest and the default file name. Default Date.now. */
  clock?: () => number;
}

export interface BackupResult extends BackupManifest {
  /** The absolute path of the backup and of its manifest. */
  path: string;
  manifestPath: string;
  durationMs: number;
}

export function manifestPathOf(backup: string): string {
  return `${backup}.json`;
}

export async function backupSqlite(options: BackupOptions): Promise<BackupResult> {
  const clock = options.clock ?? Date.now;
  const started = clock();
  const source = resolve(options.source);
  const to = backupTarget(resolve(options.to), started);
  if (!existsSync(source)) throw new OpsError(OpsErrorCodes.BACKUP_FAILED, `There is no database at ${source} to back up`, { details: { file: source } });
  if (to === source) throw new OpsError(OpsErrorCodes.BACKUP_FAILED, 'The backup cannot be written over the database it copies', { details: { file: to } });
  if (existsSync(to) && !options.overwrite) {
    throw new OpsError(OpsErrorCodes.BACKUP_FAILED, `${to} exists already; choose another name or allow overwriting it (--force)`, { details: { file: to } });
  }
  if (!existsSync(dirname(to))) throw new OpsError(OpsErrorCodes.BACKUP_FAILED, `The folder ${dirname(to)} does not exist`, { details: { file: to } });

  const partial = partialName(to);
  rmSync(partial, { force: true });
  let snapshot: { counts: TableCounts; schemaVersion: number; at: number };
  try {
    snapshot = await copySnapshot(source, partial, options.busyTimeoutMs ?? 5000, clock);
    checkCopy(partial, snapshot);
    commitFile(partial, to);
  } catch (error) {
    rmSync(partial, { force: true });
    if (error instanceof BilhetagemError) throw error;
    throw new OpsError(OpsErrorCodes.BACKUP_FAILED, `Backing up ${source} to ${to} failed: ${(error as Error).message}`, { cause: error, details: { file: to } });
  }

  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    version: 1,
    file: basename(to),
    bytes: statSync(to).size,
    sha256: await sha256File(to),
    schemaVersion: snapshot.schemaVersion,
    counts: snapshot.counts,
    snapshotAt: new Date(snapshot.at).toISOString(),
    finishedAt: new Date(clock()).toISOString(),
    source,
  };
  const manifestPath = manifestPathOf(to);
  writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { ...manifest, path: to, manifestPath, durationMs: clock() - started };
}

function backupTarget(to: string, now: number): string {
  if (existsSync(to) && statSync(to).isDirectory()) {
    const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    return join(to, `bilhetagem-${stamp}.db`);
  }
  return to;
}

/** Counts and copies one snapshot: the read transaction begun before counting holds it through the copy. */
async function copySnapshot(source: string, partial: string, timeoutMs: number, clock: () => number) {
  const db = openSqlite(source, { readonly: true, timeoutMs });
  try {
    const schemaVersion = schemaVersionOf(db);
    if (schemaVersion < 1) throw new OpsError(OpsErrorCodes.BACKUP_FAILED, `${source} is not a bilhetagem database (schema version ${schemaVersion})`, { details: { file: source } });
    db.exec('BEGIN');
    try {
      const counts = countTables(db); // the first read fixes the snapshot
      const at = clock();
      // One step for every page: a copy in several steps would start again whenever another connection
      // wrote in between, which under steady load could be forever.
      await db.backup(partial, { progress: () => 0x7fffffff });
      return { counts, schemaVersion, at };
    } finally {
      db.exec('COMMIT');
    }
  } finally {
    db.close();
  }
}

function checkCopy(partial: string, snapshot: { counts: TableCounts; schemaVersion: number }): void {
  const db = openSqlite(partial);
  try {
    // A backup is one file: a WAL beside it could be lost when the file is copied to object storage.
    db.pragma('journal_mode = DELETE');
    const problems = integrityProblems(db);
    const counts = countTables(db);
    const version = schemaVersionOf(db);
    if (version !== snapshot.schemaVersion) problems.push(`schema version ${version}, the database had ${snapshot.schemaVersion}`);
    for (const [table, n] of Object.entries(snapshot.counts)) {
      if (counts[table] !== n) problems.push(`${table}: ${counts[table] ?? 'missing'} rows, the snapshot had ${n}`);
    }
    if (problems.length > 0) {
      throw new OpsError(OpsErrorCodes.BACKUP_FAILED, `The backup failed its check: ${problems.join('; ')}`, { details: { problems } });
    }
  } finally {
    db.close();
  }
}

export interface BackupCheck {
  file: string;
  schemaVersion: number;
  counts: TableCounts;
  /** The manifest beside the backup, when there is one; its checksum and counts were checked. */
  manifest: BackupManifest | null;
}

/**
 * Checks a backup before it is used: a SQLite file that passes integrity and foreign-key checks, holds
 * every store table at a schema version this release knows, and matches its manifest when it has one.
 * Throws BLH_ERR_BACKUP_INVALID (or BLH_ERR_SCHEMA_TOO_NEW) naming what is wrong.
 */
export async function checkBackup(file: string): Promise<BackupCheck> {
  const path = resolve(file);
  const invalid = (why: string, cause?: unknown) => new OpsError(OpsErrorCodes.BACKUP_INVALID, `The backup ${path} cannot be used: ${why}`, { cause, details: { file: path } });
  if (!existsSync(path)) throw invalid('there is no such file');
  const manifest = readManifest(path);
  if (manifest) {
    const sha256 = await sha256File(path);
    if (sha256 !== manifest.sha256) throw invalid(`its sha256 is ${sha256}, its manifest says ${manifest.sha256} (the file changed or is incomplete)`);
  }
  let db;
  try {
    db = openSqlite(path, { readonly: true });
    schemaVersionOf(db); // reading the header is what fails on a file that is not a database
  } catch (error) {
    db?.close();
    throw invalid(`it is not a SQLite database (${(error as Error).message})`, error);
  }
  try {
    const schemaVersion = schemaVersionOf(db);
    if (schemaVersion > SCHEMA_VERSION) throw new SchemaTooNewError(schemaVersion, SCHEMA_VERSION, path);
    const counts = countTables(db);
    const missing = missingTables(counts);
    if (schemaVersion < 1 || missing.length > 0) throw invalid(`it is not a bilhetagem store (schema version ${schemaVersion}${missing.length ? `; no table ${missing.join(', ')}` : ''})`);
    const problems = integrityProblems(db);
    if (problems.length > 0) throw invalid(`it is damaged: ${problems.join('; ')}`);
    if (manifest) {
      if (manifest.schemaVersion !== schemaVersion) throw invalid(`schema version ${schemaVersion}, its manifest says ${manifest.schemaVersion}`);
      const wrong = Object.entries(manifest.counts).filter(([table, n]) => counts[table] !== n);
      if (wrong.length > 0) throw invalid(wrong.map(([table, n]) => `${table} has ${counts[table] ?? 'no'} rows, its manifest says ${n}`).join('; '));
    }
    return { file: path, schemaVersion, counts, manifest };
  } finally {
    db.close();
  }
}

function readManifest(backup: string): BackupManifest | null {
  const path = manifestPathOf(backup);
  if (!existsSync(path)) return null;
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as BackupManifest;
  } catch (error) {
    throw new OpsError(OpsErrorCodes.BACKUP_INVALID, `The manifest ${path} is not valid JSON: ${(error as Error).message}`, { cause: error, details: { file: path } });
  }
  if (manifest?.format !== BACKUP_FORMAT || typeof manifest.sha256 !== 'string' || typeof manifest.counts !== 'object') {
    throw new OpsError(OpsErrorCodes.BACKUP_INVALID, `${path} is not a bilhetagem backup manifest`, { details: { file: path } });
  }
  return manifest;
}

export interface RestoreOptions {
  /** The backup file. */
  from: string;
  /** Where the database goes (the server's --db). */
  to: string;
  /** Replace a database that exists at `to` (it is kept as `<to>.before-restore-<time>`). Default false. */
  force?: boolean;
  clock?: () => number;
}

export interface RestoreResult {
  path: string;
  from: string;
  /** Where the database that was replaced went, or null. */
  replaced: string | null;
  /** The backup's schema version, and the schema version after opening it with this release. */
  backupSchemaVersion: number;
  schemaVersion: number;
  counts: TableCounts;
  /** Outbox rows that were in flight when the backup was taken, released so they are sent again at once. */
  leasesReleased: number;
  manifest: BackupManifest | null;
}

export async function restoreSqlite(options: RestoreOptions): Promise<RestoreResult> {
  const clock = options.clock ?? Date.now;
  const to = resolve(options.to);
  const check = await checkBackup(options.from);
  if (check.file === to) throw new OpsError(OpsErrorCodes.RESTORE_REFUSED, 'The backup and the database to restore are the same file', { details: { file: to } });
  if (!existsSync(dirname(to))) throw new OpsError(OpsErrorCodes.RESTORE_REFUSED, `The folder ${dirname(to)} does not exist`, { details: { file: to } });

  let replaced: string | null = null;
  if (existsSync(to)) {
    if (!options.force) {
      throw new OpsError(OpsErrorCodes.RESTORE_REFUSED, `A database exists at ${to}; restoring would replace it. Stop the server and pass --force (the old file is kept beside it)`, {
        details: { file: to },
      });
    }
    takeOver(to);
    const stamp = new Date(clock()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    replaced = `${to}.before-restore-${stamp}`;
    renameSync(to, replaced);
  }
  // A WAL or shared-memory file left from another database would be read as part of this one.
  for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${to}${suffix}`, { force: true });

  const partial = partialName(to);
  try {
    copyFileSync(check.file, partial);
    commitFile(partial, to);
  } catch (error) {
    rmSync(partial, { force: true });
    throw new OpsError(OpsErrorCodes.RESTORE_REFUSED, `Copying ${check.file} to ${to} failed: ${(error as Error).message}`, { cause: error, details: { file: to } });
  }

  // Open it once as the server will: WAL mode, and migrated forward if the backup is from an older release.
  await createSqliteStore({ filename: to }).close();
  // Not read-only: a read-only connection could not remove the WAL files when it closes.
  const db = openSqlite(to);
  let schemaVersion: number;
  let counts: TableCounts;
  let leasesReleased: number;
  try {
    // Rows that were in flight when the backup was taken hold leases of workers that will never settle them
    // here; released, they are sent again at once instead of after the lease runs out. Whatever reached the
    // target then is answered "already have it" under the same idempotency key.
    leasesReleased = db
      .prepare("UPDATE outbox SET lease_token = NULL, lease_worker = NULL, lease_expires_at = NULL WHERE status = 'pending' AND lease_token IS NOT NULL")
      .run().changes;
    // The stores that delivered each target then are not running here (schema step 4).
    if (db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'target_locks'").get()) db.prepare('DELETE FROM target_locks').run();
    schemaVersion = schemaVersionOf(db);
    counts = countTables(db);
  } finally {
    db.close();
  }
  return { path: to, from: check.file, replaced, backupSchemaVersion: check.schemaVersion, schemaVersion, counts, leasesReleased, manifest: check.manifest };
}

/**
 * Refuses a database that another process has open. Leaving WAL mode needs the only connection to the
 * file, so it succeeds only when nobody else is there; it also folds the WAL back into the file, so the
 * file kept aside is complete on its own.
 */
function takeOver(file: string): void {
  let db;
  try {
    db = openSqlite(file, { timeoutMs: 0 });
  } catch {
    return; // not a database: nothing can be using it as one
  }
  try {
    let mode: unknown;
    try {
      mode = db.pragma('journal_mode = DELETE', { simple: true });
    } catch (error) {
      mode = (error as Error).message;
    }
    if (mode !== 'delete') {
      throw new OpsError(OpsErrorCodes.RESTORE_REFUSED, `The database ${file} is in use by another process; stop the server (and any forwarder) before restoring over it`, {
        details: { file },
      });
    }
  } finally {
    db.close();
  }
}
