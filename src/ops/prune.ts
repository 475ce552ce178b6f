/**
 * Retention: archive, then prune, one UTC day at a time from the oldest.
 *
 * The cutoff is the start of the UTC day `olderThan` before `now`, so a day is archived whole, once.
 * For each day that holds something prunable (see src/ports/retention-store.ts: delivered records and
 * rejections; never a pending or dead-lettered record), the records and rejections are streamed into
 * `YYYY-MM-DD.ndjson.gz`, which is fsynced and listed in manifest.json. Only then are they pruned, in
 * transactions of at most `transactionSize`, each checking again that what it removes is still prunable.
 * If anything fails before that, the day stays in the store. If the process dies after archiving but
 * before (or while) pruning, the next run archives the rest of the day again, and the rewritten file
 * replaces those lines rather than repeating them.
 */
import { dirname, join } from 'node:path';
import type { PrunableRecord, Rejection, RetentionStore } from '../ports/store.ts';
import { OptionsError } from '../errors.ts';
import { DAY_MS, parseAge, utcDay, utcDayStart } from './age.ts';
import { withArchiveLock, writeArchiveDay } from './archive.ts';
import type { ArchiveEntry, ArchiveLine } from './archive.ts';

export interface PruneOptions {
  store: RetentionStore;
  /** Where the day files and manifest.json go. */
  archiveDir: string;
  /** `90d`, or milliseconds: records older than this (by whole UTC days) go. */
  olderThan: string | number;
  now: Date;
  /** Count what would go, write and remove nothing. Default false. */
  dryRun?: boolean;
  /** Records read per page. Default 500. */
  pageSize?: number;
  /**
   * The most records (and rejections) removed in one transaction. A day larger than this is pruned in
   * several, each after the whole day's archive is on disk. Default 5000: a transaction holds the write
   * lock, and on SQLite a day of a million records in one would stop ingest for tens of seconds.
   */
  transactionSize?: number;
  /** Stops between days (what is done stays done). */
  signal?: AbortSignal;
}

export interface PrunedDay {
  day: string;
  records: number;
  rejections: number;
  /** Rows removed with the records. */
  outbox: number;
  attempts: number;
  deadLetters: number;
  /** Archived but kept: replayed between the listing and the prune. */
  kept: number;
  file: string | null;
  archive: ArchiveEntry | null;
}

export interface PruneSummary {
  cutoff: Date;
  dryRun: boolean;
  days: PrunedDay[];
  records: number;
  rejections: number;
  kept: number;
}

/** Where archives go unless told otherwise: `archive/` beside the database file. */
export function defaultArchiveDir(dbFile: string): string {
  return join(dirname(dbFile), 'archive');
}

export function retentionCutoff(now: Date, olderThan: string | number): Date {
  const age = typeof olderThan === 'number' ? olderThan : parseAge(olderThan, 'olderThan');
  if (!Number.isSafeInteger(age) || age <= 0) throw new OptionsError('olderThan must be a positive age', { option: 'olderThan' });
  return new Date(utcDayStart(now.getTime() - age));
}

export async function pruneStore(options: PruneOptions): Promise<PruneSummary> {
  const { store, archiveDir } = options;
  if (!(options.now instanceof Date) || Number.isNaN(options.now.getTime())) throw new OptionsError('now must be a valid Date', { option: 'now' });
  const cutoff = retentionCutoff(options.now, options.olderThan);
  const dryRun = options.dryRun ?? false;
  const pageSize = options.pageSize ?? 500;
  const transactionSize = options.transactionSize ?? 5000;
  if (!Number.isSafeInteger(transactionSize) || transactionSize < 1) throw new OptionsError('transactionSize must be a positive integer', { option: 'transactionSize' });
  const summary: PruneSummary = { cutoff, dryRun, days: [], records: 0, rejections: 0, kept: 0 };

  const run = async () => {
    let from: Date | undefined;
    for (;;) {
      if (options.signal?.aborted) break;
      const dayStart = await oldestDay(store, cutoff, from);
      if (dayStart === null) break;
      const window = { before: cutoff, from: new Date(dayStart), to: new Date(Math.min(dayStart + DAY_MS, cutoff.getTime())) };
      const day = await pruneDay(store, archiveDir, utcDay(dayStart), window, { dryRun, pageSize, transactionSize, now: options.now });
      summary.days.push(day);
      summary.records += day.records;
      summary.rejections += day.rejections;
      summary.kept += day.kept;
      from = window.to;
    }
    return summary;
  };
  return dryRun ? run() : withArchiveLock(archiveDir, run);
}

/** The start of the oldest UTC day at or after `from` that holds something prunable, or null. */
async function oldestDay(store: RetentionStore, before: Date, from: Date | undefined): Promise<number | null> {
  const [record] = (await store.listPrunable({ before, from, limit: 1 })).items;
  const [rejection] = (await store.listPrunableRejections({ before, from, limit: 1 })).items;
  const times = [record?.receivedAt, rejection?.receivedAt].filter((t): t is Date => t !== undefined).map((t) => t.getTime());
  return times.length === 0 ? null : utcDayStart(Math.min(...times));
}

interface Window {
  before: Date;
  from: Date;
  to: Date;
}

async function pruneDay(store: RetentionStore, dir: string, day: string, window: Window, o: { dryRun: boolean; pageSize: number; transactionSize: number; now: Date }): Promise<PrunedDay> {
  const records: { source: string; id: string }[] = [];
  const rejections: string[] = [];
  async function* lines(): AsyncGenerator<ArchiveLine> {
    for await (const r of pages<PrunableRecord>((cursor) => store.listPrunable({ ...window, limit: o.pageSize, cursor }))) {
      records.push({ source: r.source, id: r.id });
      yield { kind: 'record', ...r };
    }
    for await (const r of pages<Rejection>((cursor) => store.listPrunableRejections({ ...window, limit: o.pageSize, cursor }))) {
      rejections.push(r.seq);
      yield { kind: 'rejection', ...r };
    }
  }
  const result: PrunedDay = { day, records: 0, rejections: 0, outbox: 0, attempts: 0, deadLetters: 0, kept: 0, file: null, archive: null };
  if (o.dryRun) {
    for await (const _ of lines()) void _;
    return { ...result, records: records.length, rejections: rejections.length };
  }
  const archive = await writeArchiveDay(dir, day, lines(), o.now);
  // Only now, with the day's file fsynced and in the manifest, does anything of it leave the store.
  const totals = { ...result, file: `${day}.ndjson.gz`, archive };
  for (let i = 0; i < records.length + rejections.length; i += o.transactionSize) {
    const pruned = await store.prune({
      before: window.before,
      records: records.slice(i, i + o.transactionSize),
      rejections: rejections.slice(Math.max(0, i - records.length), Math.max(0, i + o.transactionSize - records.length)),
    });
    for (const key of ['records', 'rejections', 'outbox', 'attempts', 'deadLetters', 'kept'] as const) totals[key] += pruned[key];
  }
  return totals;
}

async function* pages<T>(fetch: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const page = await fetch(cursor);
    yield* page.items;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}
