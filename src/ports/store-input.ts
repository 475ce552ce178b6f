/**
 * Input checks shared by every store adapter, so they refuse the same things with the same errors.
 * They run before any transaction: a bad call fails alone and never takes a batch down with it.
 * Dates become epoch milliseconds and JSON values become text here, once; `parseJson` and `toDate`
 * turn them back.
 */
import { StoreInputError } from './errors.js';
import type { IngestItem, PageRequest, RejectionEntry, RejectionFilter, StoredVerdict } from './store.js';

export interface PreparedOutput {
  target: string;
  body: string;
}

export interface PreparedIngestItem {
  source: string;
  id: string;
  type: string;
  subject: string | null;
  payload: string;
  payloadHash: string;
  verdict: StoredVerdict;
  code: string | null;
  message: string | null;
  rulesetVersion: string;
  receivedAt: number;
  outputs: PreparedOutput[];
}

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

/** The smallest and largest times a Date holds; an open end of a range becomes one of these. */
export const MIN_TIME = -8.64e15;
export const MAX_TIME = 8.64e15;

export function object<T>(value: T, what: string): NonNullable<T> {
  if (typeof value !== 'object' || value === null) throw new StoreInputError(`${what} must be an object`, { field: what });
  return value as NonNullable<T>;
}

export function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new StoreInputError(`${field} must be a non-empty string`, { field });
  return value;
}

export function optionalText(value: unknown, field: string): string | null {
  return value === undefined || value === null ? null : text(value, field);
}

export function millis(value: unknown, field: string): number {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new StoreInputError(`${field} must be a valid Date`, { field });
  return value.getTime();
}

export function optionalMillis(value: unknown, field: string): number | null {
  return value === undefined || value === null ? null : millis(value, field);
}

export function positiveInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new StoreInputError(`${field} must be a positive integer`, { field });
  }
  return value;
}

export function optionalNumber(value: unknown, field: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new StoreInputError(`${field} must be a finite number`, { field });
  return value;
}

export function optionalInteger(value: unknown, field: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new StoreInputError(`${field} must be an integer`, { field });
  return value;
}

/** JSON text of a value; `undefined` stays null (absent), anything JSON cannot hold is refused. */
export function json(value: unknown, field: string): string | null {
  if (value === undefined) return null;
  let out: string | undefined;
  try {
    out = JSON.stringify(value);
  } catch (error) {
    throw new StoreInputError(`${field} cannot be stored as JSON`, { field }, error);
  }
  if (out === undefined) throw new StoreInputError(`${field} cannot be stored as JSON`, { field });
  return out;
}

export function requiredJson(value: unknown, field: string): string {
  const out = json(value, field);
  if (out === null) throw new StoreInputError(`${field} is required`, { field });
  return out;
}

export function parseJson(value: string | null): unknown {
  return value === null ? null : JSON.parse(value);
}

export function toDate(ms: number): Date;
export function toDate(ms: number | null): Date | null;
export function toDate(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}

export function prepareIngest(items: readonly IngestItem[]): PreparedIngestItem[] {
  if (!Array.isArray(items)) throw new StoreInputError('ingest() takes an array of items');
  return items.map((item, index) => prepareItem(item, `items[${index}]`));
}

function prepareItem(item: IngestItem, at: string): PreparedIngestItem {
  object(item, at);
  const verdict = item.verdict;
  if (verdict !== 'accepted' && verdict !== 'skipped') {
    throw new StoreInputError(`${at}.verdict must be "accepted" or "skipped" (rejected records go to recordRejection)`, { field: `${at}.verdict` });
  }
  const outputs: PreparedOutput[] = [];
  if (item.outputs !== undefined) {
    if (verdict === 'skipped') throw new StoreInputError(`${at}.outputs is only for accepted records`, { field: `${at}.outputs` });
    if (typeof item.outputs !== 'object' || item.outputs === null) throw new StoreInputError(`${at}.outputs must be an object`, { field: `${at}.outputs` });
    for (const [target, body] of Object.entries(item.outputs)) {
      outputs.push({ target: text(target, `${at}.outputs key`), body: requiredJson(body, `${at}.outputs.${target}`) });
    }
  }
  return {
    source: text(item.source, `${at}.source`),
    id: text(item.id, `${at}.id`),
    type: text(item.type, `${at}.type`),
    subject: optionalText(item.subject, `${at}.subject`),
    payload: requiredJson(item.payload, `${at}.payload`),
    payloadHash: text(item.payloadHash, `${at}.payloadHash`),
    verdict,
    code: optionalText(item.code, `${at}.code`),
    message: optionalText(item.message, `${at}.message`),
    rulesetVersion: text(item.rulesetVersion, `${at}.rulesetVersion`),
    receivedAt: millis(item.receivedAt, `${at}.receivedAt`),
    outputs,
  };
}

export interface PreparedRejection {
  source: string;
  id: string;
  type: string | null;
  errors: string;
  rulesetVersion: string;
  receivedAt: number;
  payload: string | null;
}

export function prepareRejection(entry: RejectionEntry): PreparedRejection {
  object(entry, 'rejection');
  if (!Array.isArray(entry.errors)) throw new StoreInputError('errors must be an array', { field: 'errors' });
  return {
    source: text(entry.source, 'source'),
    id: text(entry.id, 'id'),
    type: optionalText(entry.type, 'type'),
    errors: requiredJson(entry.errors, 'errors'),
    rulesetVersion: text(entry.rulesetVersion, 'rulesetVersion'),
    receivedAt: millis(entry.receivedAt, 'receivedAt'),
    payload: json(entry.payload, 'payload'),
  };
}

export interface PreparedRejectionFilter extends PreparedPage {
  source: string | null;
  id: string | null;
  from: number | null;
  to: number | null;
}

export function prepareRejectionFilter(filter: RejectionFilter = {}): PreparedRejectionFilter {
  object(filter, 'filter');
  return {
    ...preparePage(filter),
    source: optionalText(filter.source, 'source'),
    id: optionalText(filter.id, 'id'),
    from: optionalMillis(filter.from, 'from'),
    to: optionalMillis(filter.to, 'to'),
  };
}

/** Cursors are opaque to callers; inside they are the last row id seen (or, for some reads, a tuple of it). */
export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

/** A cursor's content, matched against the shape its kind of cursor has; any other was not given out here. */
export function decodeCursor(cursor: unknown, shape: RegExp): RegExpExecArray {
  const match = shape.exec(Buffer.from(text(cursor, 'cursor'), 'base64url').toString('utf8'));
  if (!match) throw new StoreInputError('cursor is not one this store gave out', { field: 'cursor' });
  return match;
}

/** A page's size: the default when not given, at most MAX_PAGE_LIMIT. */
export function pageLimit(limit: unknown): number {
  return limit === undefined ? DEFAULT_PAGE_LIMIT : Math.min(positiveInteger(limit, 'limit'), MAX_PAGE_LIMIT);
}

export interface PreparedPage {
  limit: number;
  /** Rows with a smaller id than this come next; null = from the newest. */
  before: number | null;
}

export function preparePage(request: PageRequest | undefined): PreparedPage {
  const limit = pageLimit(request?.limit);
  if (request?.cursor === undefined) return { limit, before: null };
  return { limit, before: Number(decodeCursor(request.cursor, /^[0-9]{1,15}$/)[0]) };
}

/** Callers fetch `limit + 1` rows, newest first; the extra one only says that another page exists. */
export function toPage<T>(rows: T[], limit: number, key: (row: T) => string): { items: T[]; nextCursor: string | null } {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(key(items[items.length - 1])) };
}

/** Ids are strings in the port; these adapters number their rows. Anything else cannot exist. */
export function rowNumber(id: string): number | null {
  return typeof id === 'string' && /^[0-9]{1,15}$/.test(id) ? Number(id) : null;
}
