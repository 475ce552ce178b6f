/**
 * The rows the reference adapters keep, and how they become the port's objects. Times are epoch
 * milliseconds and values JSON text in every adapter (SQL adapters alias their columns to these names),
 * so each adapter only has to fetch rows and everything callers see is shaped in one place.
 */
import type { RejectionError } from '../types.js';
import type { AccountInfo, ApiKeyInfo, RulesetActivation, RulesetVersion, StoredAuditEntry } from './admin-store.js';
import { parseJson, toDate } from './store-input.js';
import type { PreparedIngestItem, PreparedRejection } from './store-input.js';
import type {
  AttemptOutcome,
  ClaimedDelivery,
  DeadLetter,
  DeadLetterStatus,
  DeliveryAttempt,
  DeliveryStatus,
  Rejection,
  StoredRecord,
  TargetState,
} from './store.js';

/** A records row as the SQL adapters read it: what ingest prepared (but its outputs, which are outbox rows), and its sequence number. */
export type RecordRow = Omit<PreparedIngestItem, 'outputs'> & { seq: number };

export interface OutboxRow {
  id: number;
  recordSeq: number;
  source: string;
  recordId: string;
  target: string;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  replays: number;
  createdAt: number;
  nextAttemptAt: number;
  leaseToken: string | null;
  leaseWorker: string | null;
  leaseExpiresAt: number | null;
  lastError: string | null;
  deliveredAt: number | null;
  receiptStatus: number | null;
  receiptTargetId: string | null;
  /** See ClaimedDelivery.firstTryAt; read by claims only (other reads may leave it out). */
  firstTryAt?: number | null;
}

export interface AttemptRow {
  id: number;
  outboxId: number;
  at: number;
  outcome: AttemptOutcome;
  statusCode: number | null;
  targetId: string | null;
  latencyMs: number | null;
  error: string | null;
  answer: string | null;
  worker: string | null;
}

export interface DeadLetterRow {
  id: number;
  outboxId: number;
  target: string;
  source: string;
  recordId: string;
  reason: string;
  code: string | null;
  statusCode: number | null;
  answer: string | null;
  at: number;
  status: DeadLetterStatus;
  resolvedAt: number | null;
  resolvedBy: string | null;
}

/** A rejections row: what recordRejection prepared, and its sequence number. */
export interface RejectionRow extends PreparedRejection {
  seq: number;
}

export interface ApiKeyRow {
  id: number;
  name: string;
  prefix: string;
  hash: string;
  /** JSON array of strings. */
  sources: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface AccountRow {
  username: string;
  passwordHash: string;
  role: string;
  createdAt: number;
  updatedAt: number;
}

export interface AuditRow {
  id: number;
  actor: string;
  action: string;
  target: string | null;
  before: string | null;
  after: string | null;
  at: number;
}

export interface RulesetRow {
  id: number;
  version: string;
  /** JSON object: path → content. */
  files: string;
  activatedBy: string;
  at: number;
}

/**
 * A record's attempts, oldest first, from the rows of the attempts table (`logged`, in the order they were
 * written) and the deliveries a store holds on outbox rows instead (`held`, by delivered_at then row id;
 * SQLite since its schema step 3, PostgreSQL since step 4). A delivery held on a row is that row's last
 * attempt: it is listed after every attempt of its own row and every other attempt that is not later than it.
 */
export function withHeldDeliveries(logged: readonly AttemptRow[], held: readonly AttemptRow[]): AttemptRow[] {
  if (held.length === 0) return logged as AttemptRow[];
  const out: AttemptRow[] = [];
  let i = 0;
  for (const d of held) {
    let lastOwn = -1;
    for (let k = logged.length - 1; k >= i; k--) {
      if (logged[k]!.outboxId === d.outboxId) {
        lastOwn = k;
        break;
      }
    }
    while (i < logged.length && (i <= lastOwn || logged[i]!.at <= d.at)) out.push(logged[i++]!);
    out.push(d);
  }
  while (i < logged.length) out.push(logged[i++]!);
  return out;
}

export function toRecord(row: RecordRow, outbox: OutboxRow[], attempts: AttemptRow[]): StoredRecord {
  const targetOf = new Map(outbox.map((o) => [o.id, o.target]));
  return {
    source: row.source,
    id: row.id,
    type: row.type,
    subject: row.subject,
    payload: parseJson(row.payload),
    payloadHash: row.payloadHash,
    verdict: row.verdict,
    code: row.code,
    message: row.message,
    rulesetVersion: row.rulesetVersion,
    receivedAt: toDate(row.receivedAt),
    targets: Object.fromEntries(outbox.map((o) => [o.target, toTargetState(o)])),
    deliveries: attempts.map((a) => toAttempt(a, targetOf.get(a.outboxId) ?? '')),
  };
}

function toTargetState(o: OutboxRow): TargetState {
  return {
    outboxId: String(o.id),
    target: o.target,
    status: o.status,
    body: parseJson(o.body),
    attempts: o.attempts,
    replays: o.replays,
    nextAttemptAt: o.status === 'pending' ? toDate(o.nextAttemptAt) : null,
    lastError: o.lastError,
    deliveredAt: toDate(o.deliveredAt),
    receipt: o.deliveredAt === null ? null : { statusCode: o.receiptStatus, targetId: o.receiptTargetId },
  };
}

function toAttempt(a: AttemptRow, target: string): DeliveryAttempt {
  return {
    target,
    at: toDate(a.at),
    outcome: a.outcome,
    statusCode: a.statusCode,
    targetId: a.targetId,
    latencyMs: a.latencyMs,
    error: a.error,
    answer: parseJson(a.answer),
    worker: a.worker,
  };
}

/** What a claim reads of each outbox row it leases. */
export type ClaimedRow = Pick<OutboxRow, 'id' | 'target' | 'source' | 'recordId' | 'body' | 'attempts' | 'replays' | 'createdAt' | 'nextAttemptAt' | 'firstTryAt'>;

/** The order claims hand rows out in: the longest due first, then the oldest row. */
export function oldestDueFirst(a: ClaimedRow, b: ClaimedRow): number {
  return a.nextAttemptAt - b.nextAttemptAt || a.id - b.id;
}

/** `parse = false`: `body` is left undefined, `bodyJson` holds it (a claim with bodyJsonOnly). */
export function toClaimed(o: ClaimedRow, leaseToken: string, leaseExpiresAt: number, parse = true): ClaimedDelivery {
  return {
    id: String(o.id),
    leaseToken,
    target: o.target,
    source: o.source,
    recordId: o.recordId,
    body: parse ? parseJson(o.body) : undefined,
    // The text every store holds: a preset that sends the body as it is need not serialise it again.
    bodyJson: o.body,
    attempts: o.attempts,
    replays: o.replays,
    createdAt: toDate(o.createdAt),
    nextAttemptAt: toDate(o.nextAttemptAt),
    leaseExpiresAt: toDate(leaseExpiresAt),
    firstTryAt: o.firstTryAt === null || o.firstTryAt === undefined ? undefined : toDate(o.firstTryAt),
  };
}

export function toDeadLetter(d: DeadLetterRow): DeadLetter {
  return {
    id: String(d.id),
    outboxId: String(d.outboxId),
    target: d.target,
    source: d.source,
    recordId: d.recordId,
    reason: d.reason,
    code: d.code,
    statusCode: d.statusCode,
    answer: parseJson(d.answer),
    at: toDate(d.at),
    status: d.status,
    resolvedAt: toDate(d.resolvedAt),
    resolvedBy: d.resolvedBy,
  };
}

export function toRejection(r: RejectionRow): Rejection {
  return {
    seq: String(r.seq),
    source: r.source,
    id: r.id,
    type: r.type,
    errors: parseJson(r.errors) as RejectionError[],
    rulesetVersion: r.rulesetVersion,
    receivedAt: toDate(r.receivedAt),
    payload: parseJson(r.payload),
  };
}

export function toKeyInfo(row: ApiKeyRow): ApiKeyInfo {
  return {
    id: String(row.id),
    name: row.name,
    prefix: row.prefix,
    sources: JSON.parse(row.sources) as string[],
    createdAt: toDate(row.createdAt),
    revokedAt: toDate(row.revokedAt),
  };
}

export function toAccountInfo(row: AccountRow): AccountInfo {
  return { username: row.username, role: row.role, createdAt: toDate(row.createdAt), updatedAt: toDate(row.updatedAt) };
}

export function toAudit(row: AuditRow): StoredAuditEntry {
  return {
    id: String(row.id),
    actor: row.actor,
    action: row.action,
    target: row.target,
    before: parseJson(row.before),
    after: parseJson(row.after),
    at: toDate(row.at),
  };
}

export function toRulesetActivation(row: Omit<RulesetRow, 'id' | 'files'>): RulesetActivation {
  return { version: row.version, activatedBy: row.activatedBy, at: toDate(row.at) };
}

export function toRulesetVersion(row: Omit<RulesetRow, 'id'>): RulesetVersion {
  return { version: row.version, files: JSON.parse(row.files) as Record<string, string>, activatedBy: row.activatedBy, at: toDate(row.at) };
}
