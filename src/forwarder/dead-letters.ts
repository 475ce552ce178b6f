/**
 * Operator actions on dead letters and replays, shared by the CLI (`bilhetagem dlq`, `bilhetagem replay`) and
 * the admin HTTP API. Nothing here deletes: a retried dead letter stays (marked retried) and its row goes
 * back to the outbox until the target confirms; a discarded one stays too.
 */
import { parseTime } from '../core/facts.ts';
import { StoreNotFoundError } from '../ports/errors.ts';
import type { DeadLetter, DeadLetterFilter, DeadLetterStatus, DeliveryAttempt, OutboxStore, Page, RecordStore, TargetState } from '../ports/store.ts';
import { ForwarderError, ForwarderErrorCodes, TimeRangeError } from './errors.ts';

type DeadLetterStore = Pick<OutboxStore, 'listDeadLetters' | 'retryDeadLetter' | 'discardDeadLetter'>;

/** A store may offer a direct lookup; otherwise dead letters are found by paging. */
interface WithLookup {
  getDeadLetter?(id: string): Promise<DeadLetter | undefined>;
}

const STATUSES: readonly DeadLetterStatus[] = ['dead', 'retried', 'discarded'];

export function listDeadLetters(store: DeadLetterStore, filter: DeadLetterFilter = {}): Promise<Page<DeadLetter>> {
  return store.listDeadLetters(filter);
}

/** The dead letter with this id, whatever its status, or undefined. */
export async function findDeadLetter(store: DeadLetterStore & WithLookup, id: string): Promise<DeadLetter | undefined> {
  if (typeof store.getDeadLetter === 'function') return store.getDeadLetter(id);
  for (const status of STATUSES) {
    let cursor: string | undefined;
    do {
      const page = await store.listDeadLetters({ status, limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
      const found = page.items.find((d) => d.id === id);
      if (found) return found;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }
  return undefined;
}

export interface DeadLetterView {
  deadLetter: DeadLetter;
  /** The row's current state at its target (body, attempts, last error, last receipt). */
  delivery: TargetState | null;
  /** Every attempt at this target, oldest first, with each answer. */
  attempts: DeliveryAttempt[];
}

/** A dead letter with its row and attempt history; throws BLH_ERR_STORE_NOT_FOUND when there is none. */
export async function showDeadLetter(store: DeadLetterStore & WithLookup & Pick<RecordStore, 'getRecord'>, id: string): Promise<DeadLetterView> {
  const deadLetter = await findDeadLetter(store, id);
  if (!deadLetter) throw new StoreNotFoundError('dead letter', id);
  const record = await store.getRecord(deadLetter.source, deadLetter.recordId);
  const delivery = record?.targets[deadLetter.target] ?? null;
  const attempts = record?.deliveries.filter((a) => a.target === deadLetter.target) ?? [];
  return { deadLetter, delivery, attempts };
}

/** Dead letters named by id, or every open one matching a filter. */
export type DeadLetterSelection =
  | { ids: readonly string[] }
  | { filter: Omit<DeadLetterFilter, 'status' | 'limit' | 'cursor'>; /** Needed when the filter is empty: every open dead letter. */ all?: boolean; max?: number };

export interface ResolveOutcome {
  resolved: DeadLetter[];
  /** Ids that could not be resolved, with the error code (not found, already retried or discarded). */
  failed: { id: string; code: string; message: string }[];
}

/**
 * Retries (the row goes back to the outbox, due at `at`, attempts from 0) or discards the selected dead
 * letters. One failing id does not stop the others.
 */
export async function resolveDeadLetters(
  store: DeadLetterStore,
  action: 'retry' | 'discard',
  selection: DeadLetterSelection,
  resolution: { at: Date; by?: string },
): Promise<ResolveOutcome> {
  if (!('ids' in selection) && Object.values(selection.filter).every((v) => v === undefined) && selection.all !== true) {
    throw new ForwarderError(ForwarderErrorCodes.DLQ_SELECTION, 'Name dead letters by id, give a filter (target, code, reason, from, to), or say all', { statusCode: 400 });
  }
  const ids = 'ids' in selection ? [...selection.ids] : await openIds(store, selection.filter, selection.max ?? 100_000);
  const out: ResolveOutcome = { resolved: [], failed: [] };
  const call = action === 'retry' ? store.retryDeadLetter.bind(store) : store.discardDeadLetter.bind(store);
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    const results = await Promise.allSettled(chunk.map((id) => call(id, resolution)));
    results.forEach((r, j) => {
      if (r.status === 'fulfilled') out.resolved.push(r.value);
      else {
        const e = r.reason as { code?: unknown; message?: unknown };
        out.failed.push({ id: chunk[j]!, code: typeof e?.code === 'string' ? e.code : 'ERROR', message: String(e?.message ?? e) });
      }
    });
  }
  return out;
}

async function openIds(store: DeadLetterStore, filter: Omit<DeadLetterFilter, 'status' | 'limit' | 'cursor'>, max: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listDeadLetters({ ...filter, status: 'dead', limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
    for (const d of page.items) if (ids.length < max) ids.push(d.id);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && ids.length < max);
  return ids;
}

/** Parses `--from`/`--to` (RFC 3339, or a Date); `from` must come before `to`. Either may be absent unless required. */
export function parseTimeRange(
  from: string | Date | undefined,
  to: string | Date | undefined,
  { required = false }: { required?: boolean } = {},
): { from?: Date; to?: Date } {
  const f = toDate(from, 'from', required);
  const t = toDate(to, 'to', required);
  if (f && t && f.getTime() >= t.getTime()) {
    throw new TimeRangeError(`"from" (${f.toISOString()}) must be before "to" (${t.toISOString()})`, { from: f.toISOString(), to: t.toISOString() });
  }
  return { ...(f ? { from: f } : {}), ...(t ? { to: t } : {}) };
}

function toDate(value: string | Date | undefined, name: string, required: boolean): Date | undefined {
  if (value === undefined || value === '') {
    if (required) throw new TimeRangeError(`"${name}" is required (an RFC 3339 time such as 2026-11-25T00:00:00Z)`, { field: name });
    return undefined;
  }
  const ms = value instanceof Date ? value.getTime() : parseTime(value);
  if (!Number.isFinite(ms)) {
    throw new TimeRangeError(`"${name}" must be an RFC 3339 time such as 2026-11-25T00:00:00Z, got ${JSON.stringify(value)}`, { field: name, value: String(value) });
  }
  return new Date(ms);
}

export interface ReplayRequest {
  from: string | Date;
  to: string | Date;
  source?: string;
  target?: string;
}

/**
 * Makes delivered rows (delivered in [from, to)) pending again, due at `at`: the forwarder sends them once
 * more with the same idempotency key, so a target that still has them answers "already have it". The old
 * receipt stays until the target confirms again. Answers how many rows were requeued.
 */
export async function replayDelivered(store: Pick<OutboxStore, 'requeueDelivered'>, request: ReplayRequest, at: Date): Promise<number> {
  const { from, to } = parseTimeRange(request.from, request.to, { required: true });
  return store.requeueDelivered({
    from: from!,
    to: to!,
    ...(request.source ? { source: request.source } : {}),
    ...(request.target ? { target: request.target } : {}),
    at,
  });
}
