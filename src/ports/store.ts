/**
 * The store port: where judged records, their outbox rows and the delivery history live.
 *
 * Every method is async, even where the SQLite adapter could answer at once, so PostgreSQL (and a queue
 * beside it) fit the same shape. Time is always passed in; adapters do not read the clock except where
 * a field is documented as "default: now". Ids are strings so a bigint key from PostgreSQL fits too.
 * Nothing here is SQL: the adapters decide how.
 */
import type { AccountStore, AuditStore, KeyStore, RulesetStore } from './admin-store.js';
import type { OutboxStore } from './outbox-store.js';
import type { RecordStore } from './record-store.js';

export type {
  AttemptOutcome,
  DeliveryAttempt,
  DeliveryStatus,
  IngestItem,
  IngestOutcome,
  IngestStatus,
  RecordStore,
  Rejection,
  RejectionEntry,
  RejectionFilter,
  StoredRecord,
  StoredVerdict,
  TargetState,
} from './record-store.js';
export type {
  AckRequest,
  AckResult,
  AttemptReport,
  ClaimedDelivery,
  ClaimOptions,
  DeadLetter,
  DeadLetterFilter,
  DeadLetterReport,
  DeadLetterStatus,
  DeliveryReceipt,
  KeyLockSet,
  LeaseRef,
  OutboxStore,
  RequeueFilter,
  Resolution,
  RetryReport,
  StoreStats,
  TargetHolder,
  TargetStats,
} from './outbox-store.js';
export type {
  Account,
  AccountInfo,
  AccountPatch,
  AccountStore,
  ApiKey,
  ApiKeyInfo,
  AuditEntry,
  AuditFilter,
  AuditStore,
  KeyStore,
  NewAccount,
  NewApiKey,
  RulesetActivation,
  RulesetStore,
  RulesetVersion,
  StoredAuditEntry,
} from './admin-store.js';

export type { PrunableFilter, PrunableRecord, PruneRequest, PruneResult, RecordKey, RetentionStore } from './retention-store.js';
export type { InsightStore, RecordHit, RecordSearch, SearchVerdict, TimeSeries, TimeSeriesRequest } from './insight-store.js';

/** One page of a listing, newest first; pass `nextCursor` back as `cursor` for the next one. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Common to every listing: at most `limit` items (default 100, at most 1000) after `cursor`. */
export interface PageRequest {
  limit?: number;
  cursor?: string;
}

export interface Store extends RecordStore, OutboxStore, KeyStore, AccountStore, AuditStore, RulesetStore {
  /** True when the database is open and takes writes; for readiness probes. Never throws. */
  ready(): Promise<boolean>;
  /** Commits what is queued, then closes. Idempotent; every later call fails with BLH_ERR_STORE_CLOSED. */
  close(): Promise<void>;
}
