/**
 * The memory store's tables. Values are kept as JSON text and times as epoch milliseconds, exactly as
 * the SQLite adapter keeps them, so both answer alike (a payload comes back as JSON made it) and a
 * caller mutating an object after the call cannot change what was stored.
 */
import { StoreClosedError } from '../../ports/errors.js';
import type {
  AccountRow,
  ApiKeyRow,
  AttemptRow,
  AuditRow,
  DeadLetterRow,
  OutboxRow,
  RecordRow,
  RejectionRow,
  RulesetRow,
} from '../../ports/store-rows.js';

export class MemoryState {
  closed = false;
  private sequence = 0;
  readonly records = new Map<string, RecordRow>();
  readonly outbox = new Map<number, OutboxRow>();
  readonly attempts: AttemptRow[] = [];
  readonly deadLetters = new Map<number, DeadLetterRow>();
  readonly rejections: RejectionRow[] = [];
  readonly apiKeys = new Map<number, ApiKeyRow>();
  readonly accounts = new Map<string, AccountRow>();
  readonly audit: AuditRow[] = [];
  readonly rulesets: RulesetRow[] = [];

  /** One sequence for every table: ids only need to grow, like SQLite's rowids. */
  nextId(): number {
    return ++this.sequence;
  }

  open(): void {
    if (this.closed) throw new StoreClosedError();
  }
}

export function recordKey(source: string, id: string): string {
  return JSON.stringify([source, id]);
}

/** Newest first, after the cursor, `limit + 1` of them (see toPage). */
export function newestFirst<T>(rows: Iterable<T>, id: (row: T) => number, before: number | null, limit: number, keep: (row: T) => boolean): T[] {
  const out: T[] = [];
  for (const row of rows) if ((before === null || id(row) < before) && keep(row)) out.push(row);
  out.sort((a, b) => id(b) - id(a));
  return out.slice(0, limit + 1);
}

export function inRange(at: number, from: number | null, to: number | null): boolean {
  return (from === null || at >= from) && (to === null || at < to);
}
