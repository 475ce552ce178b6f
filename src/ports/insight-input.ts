/**
 * Input checks and shared shaping for the insight reads (see store-input.ts for why adapters share them).
 *
 * A search reads two tables (records, the rejection log) and merges them. Its order is (receivedAt,
 * rank, seq) descending, where records rank 1 and rejections 0, and its cursor is the last hit's triple;
 * each table is asked for what comes after the cursor with `at < cursorAt OR (at = cursorAt AND seq < bound)`,
 * where `bound` (from `seqBound`) makes ties on the time come out in that same order.
 */
import { StoreInputError } from './errors.js';
import { MAX_TIME, MIN_TIME, decodeCursor, encodeCursor, millis, object, optionalMillis, optionalText, pageLimit, positiveInteger } from './store-input.js';
import type { RecordHit, RecordSearch, SearchVerdict, TimeSeries, TimeSeriesRequest } from './insight-store.js';
import type { AttemptOutcome, StoredVerdict } from './record-store.js';

export const MAX_BUCKETS = 10_000;
/** Larger than any row number (rowNumber accepts at most 15 digits). */
export const SEQ_MAX = 1e15;

export interface PreparedSeries {
  from: number;
  to: number;
  bucketMs: number;
  buckets: number;
}

export function prepareTimeSeries(request: TimeSeriesRequest): PreparedSeries {
  object(request, 'request');
  const from = millis(request.from, 'from');
  const to = millis(request.to, 'to');
  const bucketMs = positiveInteger(request.bucketMs, 'bucketMs');
  if (to <= from) throw new StoreInputError('to must be after from', { field: 'to' });
  const buckets = Math.ceil((to - from) / bucketMs);
  if (buckets > MAX_BUCKETS) throw new StoreInputError(`at most ${MAX_BUCKETS} buckets: widen bucketMs or shorten the range`, { field: 'bucketMs' });
  return { from, to, bucketMs, buckets };
}

/** Fills a TimeSeries from counted rows; adapters only count (bucket, key) pairs. */
export class SeriesBuilder {
  private readonly zeros: () => number[];
  readonly series: TimeSeries;

  constructor(private readonly p: PreparedSeries) {
    this.zeros = () => new Array<number>(p.buckets).fill(0);
    this.series = {
      from: new Date(p.from),
      to: new Date(p.to),
      bucketMs: p.bucketMs,
      buckets: p.buckets,
      records: { accepted: this.zeros(), skipped: this.zeros(), rejected: this.zeros() },
      rejectsByCode: {},
      deliveries: {},
      deadLetters: this.zeros(),
    };
  }

  /** The bucket of a time, or -1 outside the range (adapters filter by range already; this is a guard). */
  bucketOf(at: number): number {
    if (at < this.p.from || at >= this.p.to) return -1;
    return Math.floor((at - this.p.from) / this.p.bucketMs);
  }

  record(bucket: number, verdict: StoredVerdict | 'rejected', n = 1): void {
    if (this.valid(bucket)) this.series.records[verdict][bucket] += n;
  }

  reject(bucket: number, code: string | null, n = 1): void {
    if (!this.valid(bucket)) return;
    this.series.records.rejected[bucket] += n;
    (this.series.rejectsByCode[code ?? 'UNKNOWN'] ??= this.zeros())[bucket] += n;
  }

  attempt(bucket: number, target: string, outcome: AttemptOutcome, n = 1): void {
    if (!this.valid(bucket)) return;
    const t = (this.series.deliveries[target] ??= { delivered: this.zeros(), retry: this.zeros(), dead: this.zeros() });
    t[outcome][bucket] += n;
  }

  deadLetter(bucket: number, n = 1): void {
    if (this.valid(bucket)) this.series.deadLetters[bucket] += n;
  }

  private valid(bucket: number): boolean {
    return Number.isInteger(bucket) && bucket >= 0 && bucket < this.p.buckets;
  }
}

export interface PreparedSearch {
  source: string | null;
  id: string | null;
  subject: string | null;
  verdict: SearchVerdict | null;
  code: string | null;
  from: number;
  to: number;
  limit: number;
  /** The last hit of the previous page, or the top of everything. */
  cursorAt: number;
  cursorRank: number;
  cursorSeq: number;
  /** Which tables can hold matches. */
  records: boolean;
  rejections: boolean;
}

const VERDICTS: readonly string[] = ['accepted', 'skipped', 'rejected'];

export function prepareSearch(filter: RecordSearch = {}): PreparedSearch {
  object(filter, 'filter');
  const verdict = optionalText(filter.verdict, 'verdict');
  if (verdict !== null && !VERDICTS.includes(verdict)) throw new StoreInputError('verdict must be accepted, skipped or rejected', { field: 'verdict' });
  const limit = pageLimit(filter.limit);
  let cursorAt = MAX_TIME;
  let cursorRank = 2;
  let cursorSeq = SEQ_MAX;
  if (filter.cursor !== undefined) {
    const m = decodeCursor(filter.cursor, /^(-?[0-9]{1,16}):([01]):([0-9]{1,15})$/);
    cursorAt = Number(m[1]);
    cursorRank = Number(m[2]);
    cursorSeq = Number(m[3]);
  }
  return {
    source: optionalText(filter.source, 'source'),
    id: optionalText(filter.id, 'id'),
    subject: optionalText(filter.subject, 'subject'),
    verdict: verdict as SearchVerdict | null,
    code: optionalText(filter.code, 'code'),
    from: optionalMillis(filter.from, 'from') ?? MIN_TIME,
    to: optionalMillis(filter.to, 'to') ?? MAX_TIME,
    limit,
    cursorAt,
    cursorRank,
    cursorSeq,
    records: verdict !== 'rejected',
    rejections: verdict === null || verdict === 'rejected',
  };
}

/** For a table of rank `rank` (records 1, rejections 0): rows at the cursor's time with seq below this come next. */
export function seqBound(f: PreparedSearch, rank: 0 | 1): number {
  if (rank === f.cursorRank) return f.cursorSeq;
  return rank < f.cursorRank ? SEQ_MAX : 0;
}

/** A stored record's row as a hit. */
export function recordHit(row: { seq: number; source: string; id: string; type: string; subject: string | null; verdict: StoredVerdict; code: string | null; rulesetVersion: string; receivedAt: number }): RecordHit & { rank: 1; seqNumber: number } {
  return {
    kind: 'record',
    source: row.source,
    id: row.id,
    type: row.type,
    subject: row.subject,
    verdict: row.verdict,
    code: row.code,
    codes: row.code === null ? [] : [row.code],
    rulesetVersion: row.rulesetVersion,
    receivedAt: new Date(row.receivedAt),
    seq: String(row.seq),
    rank: 1,
    seqNumber: row.seq,
  };
}

/** A rejection's row (errors and payload as JSON text) as a hit. */
export function rejectionHit(row: { seq: number; source: string; id: string; type: string | null; errors: string; rulesetVersion: string; receivedAt: number; payload: string | null }): RecordHit & { rank: 0; seqNumber: number } {
  const errors = safeParse(row.errors);
  const codes = Array.isArray(errors) ? errors.map((e) => (e as { code?: unknown })?.code).filter((c): c is string => typeof c === 'string') : [];
  return {
    kind: 'rejection',
    source: row.source,
    id: row.id,
    type: row.type,
    subject: subjectOf(row.payload),
    verdict: 'rejected',
    code: codes[0] ?? null,
    codes,
    rulesetVersion: row.rulesetVersion,
    receivedAt: new Date(row.receivedAt),
    seq: String(row.seq),
    rank: 0,
    seqNumber: row.seq,
  };
}

/** The top-level `subject` of a payload kept as JSON text, when it is a string. */
export function subjectOf(payload: string | null): string | null {
  if (payload === null) return null;
  const value = safeParse(payload) as { subject?: unknown } | null;
  return value !== null && typeof value === 'object' && !Array.isArray(value) && typeof value.subject === 'string' ? value.subject : null;
}

/** The first reason's code of a rejection's errors kept as JSON text. */
export function firstCode(errors: string): string | null {
  const value = safeParse(errors);
  const code = Array.isArray(value) ? (value[0] as { code?: unknown } | undefined)?.code : undefined;
  return typeof code === 'string' ? code : null;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Merges both tables' pages (each newest first, up to limit + 1) into one page. */
export function mergeHits(f: PreparedSearch, ...lists: (RecordHit & { rank: 0 | 1; seqNumber: number })[][]): { items: RecordHit[]; nextCursor: string | null } {
  const all = lists.flat().sort((a, b) => b.receivedAt.getTime() - a.receivedAt.getTime() || b.rank - a.rank || b.seqNumber - a.seqNumber);
  const more = all.length > f.limit;
  const page = all.slice(0, f.limit);
  const last = page[page.length - 1];
  const nextCursor = more && last ? encodeCursor(`${last.receivedAt.getTime()}:${last.rank}:${last.seqNumber}`) : null;
  return { items: page.map(({ rank: _rank, seqNumber: _seq, ...hit }) => hit), nextCursor };
}

/** A LIKE pattern matching `text` anywhere, with LIKE's own characters escaped by backslash. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
