/**
 * Retention archives: one gzip-compressed NDJSON file per UTC day of receipt (`YYYY-MM-DD.ndjson.gz`), and
 * `manifest.json` listing each file with its record and rejection counts, size and sha256.
 *
 * A day file is always written whole beside its final name, fsynced and renamed into place, then the
 * manifest is rewritten the same way; only then does the caller prune. Archiving a day again (records
 * of that day that were still owed last time) rewrites the file with the old lines and the new ones; a
 * line for the same record replaces the older one, so a run cut short between archiving and pruning and
 * then repeated leaves no duplicates.
 *
 * Each line is one JSON object: `{"kind":"record", ...the record as getRecord answers it, "deadLetters": [...]}`
 * or `{"kind":"rejection", ...the rejection as listRejections answers it}`. Times are RFC 3339 strings.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createGunzip, createGzip } from 'node:zlib';
import type { PrunableRecord, Rejection } from '../ports/store.ts';
import { OpsError, OpsErrorCodes } from './errors.ts';
import { commitFile, partialName, sha256File, writeFileAtomic } from './files.ts';

export const ARCHIVE_FORMAT = 'bilhetagem-archive';
export const MANIFEST_FILE = 'manifest.json';
const DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.ndjson\.gz$/;

export interface ArchiveEntry {
  day: string;
  records: number;
  rejections: number;
  bytes: number;
  sha256: string;
  updatedAt: string;
}

export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT;
  version: 1;
  /** By file name. */
  files: Record<string, ArchiveEntry>;
}

export type ArchiveLine = ({ kind: 'record' } & PrunableRecord) | ({ kind: 'rejection' } & Rejection);

export function dayFileName(day: string): string {
  return `${day}.ndjson.gz`;
}

/** What identifies a line: a newer line with the same key replaces an older one. */
export function lineKey(line: { kind?: unknown; source?: unknown; id?: unknown; seq?: unknown }): string {
  return line.kind === 'rejection' ? `rejection:${String(line.seq)}` : `record:${JSON.stringify([line.source, line.id])}`;
}

export function readManifest(dir: string): ArchiveManifest {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) return { format: ARCHIVE_FORMAT, version: 1, files: {} };
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as ArchiveManifest;
  if (manifest?.format !== ARCHIVE_FORMAT || typeof manifest.files !== 'object' || manifest.files === null) {
    throw new OpsError(OpsErrorCodes.ARCHIVE_INVALID, `${path} is not a bilhetagem archive manifest`, { details: { file: path } });
  }
  return manifest;
}

/**
 * Writes (or rewrites) the file of `day` with `lines` plus the lines already archived for that day, and
 * updates the manifest. Durable when it resolves. Throws BLH_ERR_ARCHIVE_WRITE; the old file stays then.
 */
export async function writeArchiveDay(dir: string, day: string, lines: AsyncIterable<ArchiveLine> | Iterable<ArchiveLine>, now: Date): Promise<ArchiveEntry> {
  const name = dayFileName(day);
  const file = join(dir, name);
  const partial = partialName(file);
  const counts = { records: 0, rejections: 0 };
  const written = new Set<string>();
  try {
    mkdirSync(dir, { recursive: true });
    const gzip = createGzip();
    const out = createWriteStream(partial);
    const done = new Promise<void>((resolveDone, reject) => {
      out.on('finish', resolveDone).on('error', reject);
      gzip.on('error', reject);
    });
    gzip.pipe(out);
    const write = async (key: string, kind: unknown, json: string) => {
      written.add(key);
      if (kind === 'rejection') counts.rejections += 1;
      else counts.records += 1;
      if (!gzip.write(`${json}\n`)) await once(gzip, 'drain');
    };
    for await (const line of lines) await write(lineKey(line), line.kind, JSON.stringify(line));
    if (existsSync(file)) {
      for await (const text of readLines(file)) {
        const old = JSON.parse(text) as { kind?: unknown };
        const key = lineKey(old);
        if (!written.has(key)) await write(key, old.kind, text);
      }
    }
    gzip.end();
    await done;
    commitFile(partial, file);
  } catch (error) {
    rmSync(partial, { force: true });
    if (error instanceof OpsError) throw error;
    throw new OpsError(OpsErrorCodes.ARCHIVE_WRITE, `Writing the archive ${file} failed: ${(error as Error).message}`, { cause: error, details: { file } });
  }
  const entry: ArchiveEntry = { day, ...counts, bytes: statSync(file).size, sha256: await sha256File(file), updatedAt: now.toISOString() };
  try {
    const manifest = readManifest(dir);
    manifest.files[name] = entry;
    manifest.files = Object.fromEntries(Object.entries(manifest.files).sort(([a], [b]) => (a < b ? -1 : 1)));
    writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  } catch (error) {
    if (error instanceof OpsError) throw error;
    throw new OpsError(OpsErrorCodes.ARCHIVE_WRITE, `Updating ${join(dir, MANIFEST_FILE)} failed: ${(error as Error).message}`, { cause: error, details: { file: join(dir, MANIFEST_FILE) } });
  }
  return entry;
}

/** The lines of a gzip NDJSON file, one string each (empty lines skipped). */
export async function* readLines(file: string): AsyncGenerator<string> {
  const source = createReadStream(file);
  const gunzip = createGunzip();
  // A read error (a folder, a vanished file) must end the iteration with it, not leave it waiting.
  source.on('error', (error) => gunzip.destroy(error));
  gunzip.setEncoding('utf8');
  let rest = '';
  for await (const chunk of source.pipe(gunzip) as AsyncIterable<string>) {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) if (line !== '') yield line;
  }
  if (rest !== '') yield rest;
}

/** Every line archived for `day`, parsed; for restoring or inspecting records that were pruned. */
export async function* readArchiveDay(dir: string, day: string): AsyncGenerator<ArchiveLine> {
  for await (const line of readLines(join(dir, dayFileName(day)))) yield JSON.parse(line) as ArchiveLine;
}

export interface ArchiveFileReport {
  name: string;
  ok: boolean;
  records: number;
  rejections: number;
  problems: string[];
}

export interface ArchiveReport {
  dir: string;
  ok: boolean;
  files: ArchiveFileReport[];
  /** Problems not about one listed file: no manifest, files the manifest does not list. */
  problems: string[];
  records: number;
  rejections: number;
}

/** Recomputes every file's checksum and counts and reads every line; `ok` when all match the manifest. */
export async function verifyArchive(dir: string): Promise<ArchiveReport> {
  const root = resolve(dir);
  const report: ArchiveReport = { dir: root, ok: true, files: [], problems: [], records: 0, rejections: 0 };
  if (!existsSync(root)) {
    report.problems.push(`there is no archive folder at ${root}`);
    report.ok = false;
    return report;
  }
  let manifest: ArchiveManifest;
  try {
    if (!existsSync(join(root, MANIFEST_FILE))) throw new Error(`there is no ${MANIFEST_FILE}`);
    manifest = readManifest(root);
  } catch (error) {
    report.problems.push((error as Error).message);
    report.ok = false;
    manifest = { format: ARCHIVE_FORMAT, version: 1, files: {} };
  }
  for (const [name, entry] of Object.entries(manifest.files)) {
    const file: ArchiveFileReport = { name, ok: true, records: 0, rejections: 0, problems: [] };
    report.files.push(file);
    const path = join(root, name);
    if (!existsSync(path)) {
      file.problems.push('the file is missing');
    } else {
      const sha256 = await sha256File(path);
      if (sha256 !== entry.sha256) file.problems.push(`sha256 is ${sha256}, the manifest says ${entry.sha256}`);
      const bytes = statSync(path).size;
      if (bytes !== entry.bytes) file.problems.push(`${bytes} bytes, the manifest says ${entry.bytes}`);
      try {
        let n = 0;
        for await (const text of readLines(path)) {
          n += 1;
          let line: { kind?: unknown };
          try {
            line = JSON.parse(text) as { kind?: unknown };
          } catch {
            file.problems.push(`line ${n} is not JSON`);
            continue;
          }
          if (line.kind === 'record') file.records += 1;
          else if (line.kind === 'rejection') file.rejections += 1;
          else file.problems.push(`line ${n} is neither a record nor a rejection`);
        }
      } catch (error) {
        file.problems.push(`it cannot be decompressed: ${(error as Error).message}`);
      }
      if (file.records !== entry.records) file.problems.push(`${file.records} records, the manifest says ${entry.records}`);
      if (file.rejections !== entry.rejections) file.problems.push(`${file.rejections} rejections, the manifest says ${entry.rejections}`);
    }
    file.ok = file.problems.length === 0;
    report.ok &&= file.ok;
    report.records += file.records;
    report.rejections += file.rejections;
  }
  for (const name of readdirSync(root)) {
    if (DAY_FILE.test(name) && !Object.hasOwn(manifest.files, name)) {
      report.problems.push(`${name} is not in the manifest`);
      report.ok = false;
    }
  }
  return report;
}

/**
 * Holds `dir/.lock` while `work` runs, so the server's schedule and a `bilhetagem prune` never rewrite the
 * same day file at once. A lock left by a process that is gone is taken over.
 */
export async function withArchiveLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, '.lock');
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const holder = Number(readFileSync(lock, 'utf8'));
    if (Number.isInteger(holder) && holder > 0 && alive(holder)) {
      throw new OpsError(OpsErrorCodes.ARCHIVE_WRITE, `Another process (pid ${holder}) is archiving into ${dir}; try again when it is done`, { details: { file: lock, pid: holder } });
    }
    writeFileSync(lock, String(process.pid));
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
