/** The record side of the store port: judged records, their identity, and the log of rejections. */
import type { RejectionError } from '../types.js';
import type { Page, PageRequest } from './store.js';

export type StoredVerdict = 'accepted' | 'skipped';

export interface IngestItem {
  source: string;
  id: string;
  type: string;
  subject?: string;
  /** The record as received; kept as JSON, so what comes back is what JSON.stringify made of it. */
  payload: unknown;
  /** The hash of the payload; the same (source, id) with another hash is a conflict. */
  payloadHash: string;
  verdict: StoredVerdict;
  /** Why it was skipped (the rule's code and message). */
  code?: string;
  message?: string;
  rulesetVersion: string;
  receivedAt: Date;
  /** The mapped body per target, accepted records only: one outbox row each. */
  outputs?: Record<string, unknown>;
}

export type IngestStatus = StoredVerdict | 'duplicate' | 'conflict';

export interface IngestOutcome {
  source: string;
  id: string;
  status: IngestStatus;
  /** For duplicate and conflict: the record stored first under this identity. */
  existing?: { verdict: StoredVerdict; payloadHash: string; receivedAt: Date };
}

export interface RejectionEntry {
  source: string;
  id: string;
  type?: string;
  errors: RejectionError[];
  rulesetVersion: string;
  receivedAt: Date;
  /** The record as received, for debugging; omit it where records hold data you must not keep. */
  payload?: unknown;
}

export interface Rejection {
  seq: string;
  source: string;
  id: string;
  type: string | null;
  errors: RejectionError[];
  rulesetVersion: string;
  receivedAt: Date;
  payload: unknown;
}

export interface RejectionFilter extends PageRequest {
  source?: string;
  id?: string;
  /** receivedAt in [from, to). */
  from?: Date;
  to?: Date;
}

/** pending: waiting or in flight; delivered: the target confirmed; dead: refused for good; discarded: an operator gave up on it. */
export type DeliveryStatus = 'pending' | 'delivered' | 'dead' | 'discarded';

export interface TargetState {
  outboxId: string;
  target: string;
  status: DeliveryStatus;
  body: unknown;
  /** Attempts since the row was last queued (a dead-letter retry or a replay starts again at 0). */
  attempts: number;
  replays: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
  /** The last confirmation; kept through a replay until the target confirms again. */
  deliveredAt: Date | null;
  receipt: { statusCode: number | null; targetId: string | null } | null;
}

export type AttemptOutcome = 'delivered' | 'retry' | 'dead';

export interface DeliveryAttempt {
  target: string;
  at: Date;
  outcome: AttemptOutcome;
  statusCode: number | null;
  /** The target's own id for what it received (an event id, a transaction id). */
  targetId: string | null;
  latencyMs: number | null;
  error: string | null;
  answer: unknown;
  worker: string | null;
}

export interface StoredRecord {
  source: string;
  id: string;
  type: string;
  subject: string | null;
  payload: unknown;
  payloadHash: string;
  verdict: StoredVerdict;
  code: string | null;
  message: string | null;
  rulesetVersion: string;
  receivedAt: Date;
  /** By target name; empty for skipped records. */
  targets: Record<string, TargetState>;
  /** Every attempt at every target, oldest first. */
  deliveries: DeliveryAttempt[];
}

export interface RecordStore {
  /**
   * Stores each new record with one outbox row per target, all in one transaction for the whole call.
   * The identity (source, id) is taken only by that commit; an identity already taken (earlier or
   * earlier in the same call) answers `duplicate` with the same payload hash and `conflict` with another.
   * Outcomes come back in the order of `items`. When the promise resolves the commit is durable.
   */
  ingest(items: readonly IngestItem[]): Promise<IngestOutcome[]>;
  /** Logs a rejected record for observability. It does not take the identity: a corrected record may follow. */
  recordRejection(entry: RejectionEntry): Promise<void>;
  listRejections(filter?: RejectionFilter): Promise<Page<Rejection>>;
  getRecord(source: string, id: string): Promise<StoredRecord | undefined>;
}
