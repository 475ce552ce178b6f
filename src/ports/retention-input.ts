/** Input checks for retention, shared by every adapter (see store-input.ts for why). */
import { StoreInputError } from './errors.js';
import { MAX_TIME, MIN_TIME, decodeCursor, encodeCursor, millis, object, optionalMillis, pageLimit, rowNumber, text } from './store-input.js';
import type { PrunableFilter, PruneRequest } from './retention-store.js';

export interface PreparedPrunableFilter {
  /** The cutoff for delivery times. */
  before: number;
  /** Received in [from, to), with `to` never past the cutoff. */
  from: number;
  to: number;
  limit: number;
  /** Oldest first: rows after this (receivedAt, seq) come next. */
  afterAt: number;
  afterSeq: number;
}

export function preparePrunableFilter(filter: PrunableFilter): PreparedPrunableFilter {
  object(filter, 'filter');
  const before = millis(filter.before, 'before');
  const to = optionalMillis(filter.to, 'to');
  const limit = pageLimit(filter.limit);
  let afterAt = MIN_TIME;
  let afterSeq = 0;
  if (filter.cursor !== undefined) {
    const m = decodeCursor(filter.cursor, /^(-?[0-9]{1,16}):([0-9]{1,15})$/);
    afterAt = Number(m[1]);
    afterSeq = Number(m[2]);
  }
  return { before, from: optionalMillis(filter.from, 'from') ?? MIN_TIME, to: Math.min(to ?? MAX_TIME, before), limit, afterAt, afterSeq };
}

/** Rows fetched oldest first, `limit + 1` of them; the cursor is the last one's (receivedAt, seq). */
export function toOldestFirstPage<T>(rows: T[], limit: number, key: (row: T) => { at: number; seq: number | string }): { items: T[]; nextCursor: string | null } {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  const last = key(items[items.length - 1]);
  return { items, nextCursor: encodeCursor(`${last.at}:${last.seq}`) };
}

export interface PreparedPrune {
  before: number;
  records: { source: string; id: string }[];
  /** Rejection seqs; ones that cannot exist are dropped (and count as kept). */
  rejections: number[];
  unknown: number;
}

export function preparePrune(request: PruneRequest): PreparedPrune {
  object(request, 'request');
  const before = millis(request.before, 'before');
  const records = request.records ?? [];
  const rejections = request.rejections ?? [];
  if (!Array.isArray(records)) throw new StoreInputError('records must be an array of { source, id }', { field: 'records' });
  if (!Array.isArray(rejections)) throw new StoreInputError('rejections must be an array of ids', { field: 'rejections' });
  const seqs: number[] = [];
  let unknown = 0;
  rejections.forEach((id, i) => {
    const n = rowNumber(text(id, `rejections[${i}]`));
    if (n === null) unknown += 1;
    else seqs.push(n);
  });
  return {
    before,
    records: records.map((r, i) => {
      object(r, `records[${i}]`);
      return { source: text(r.source, `records[${i}].source`), id: text(r.id, `records[${i}].id`) };
    }),
    rejections: seqs,
    unknown,
  };
}

export function emptyPruneResult() {
  return { records: 0, outbox: 0, attempts: 0, deadLetters: 0, rejections: 0, kept: 0 };
}
