/**
 * Retention: finding what is old enough to leave the store, and removing it. The ops layer
 * (src/ops/prune.ts) writes each day to a compressed archive first and prunes only what it archived.
 *
 * A record is prunable when it was received before the cutoff and every one of its outbox rows was
 * delivered before the cutoff (a skipped record has none). A record with a pending, dead or discarded row
 * never is: it is either still owed to a target or waiting for an operator. A rejection (from the
 * rejection log) is prunable when it was received before the cutoff. The audit log is never pruned.
 *
 * Listings here go oldest first (the opposite of every other listing), because archives are written a
 * day at a time from the oldest day on.
 */
import type { DeadLetter } from './outbox-store.js';
import type { Rejection, StoredRecord } from './record-store.js';
import type { Page } from './store.js';

export interface PrunableFilter {
  /** The cutoff: received, and every outbox row delivered, before this. */
  before: Date;
  /** Only what was received in [from, to) as well (one day of an archive). */
  from?: Date;
  to?: Date;
  /** Default 100, at most 1000. */
  limit?: number;
  cursor?: string;
}

/** Everything the store holds about one record, as it goes into an archive. */
export interface PrunableRecord extends StoredRecord {
  /** Dead letters of its rows that were later retried and delivered; oldest first. */
  deadLetters: DeadLetter[];
}

export interface RecordKey {
  source: string;
  id: string;
}

export interface PruneRequest {
  /** The same cutoff the listing used: a record no longer prunable by it (replayed meanwhile) is kept. */
  before: Date;
  /** Records to remove with their outbox rows, attempts and dead letters. */
  records?: readonly RecordKey[];
  /** Rejections to remove, by the `seq` the listing gave. */
  rejections?: readonly string[];
}

export interface PruneResult {
  records: number;
  outbox: number;
  attempts: number;
  deadLetters: number;
  rejections: number;
  /** Named records or rejections left in place: gone already, or no longer prunable. */
  kept: number;
}

export interface RetentionStore {
  /** Prunable records, oldest received first, each with its rows, attempts and dead letters. */
  listPrunable(filter: PrunableFilter): Promise<Page<PrunableRecord>>;
  /** Rejections received before `before` (and in [from, to)), oldest first. */
  listPrunableRejections(filter: PrunableFilter): Promise<Page<Rejection>>;
  /**
   * Removes the named records and rejections in one transaction, checking again that each is still
   * prunable by `before`; whatever is not is kept and counted in `kept`. Removing twice is harmless.
   */
  prune(request: PruneRequest): Promise<PruneResult>;
}
