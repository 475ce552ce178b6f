/**
 * What the admin panel reads besides single records: counts per time bucket (the overview's charts) and a
 * search over records and rejections together (the records page). Read-only, and optional like
 * retention: every shipped adapter has it, and the panel says so when a store does not.
 *
 * Both read only what the store already keeps (received_at, attempts, dead letters): no counters are
 * written on the record path for them.
 */
import type { AttemptOutcome } from './record-store.js';
import type { Page, PageRequest } from './store.js';

export interface TimeSeriesRequest {
  /** The first bucket starts here. */
  from: Date;
  /** Events at or after this are left out; the last bucket may be shorter. */
  to: Date;
  /** Width of a bucket, ms (at most 10 000 buckets). */
  bucketMs: number;
}

/** Counts per bucket: index i covers [from + i*bucketMs, from + (i+1)*bucketMs). Every array has `buckets` entries. */
export interface TimeSeries {
  from: Date;
  to: Date;
  bucketMs: number;
  buckets: number;
  /** Records by the time they were received (duplicates are not stored, so not counted). */
  records: { accepted: number[]; skipped: number[]; rejected: number[] };
  /** Rejected records by the code of their first reason. */
  rejectsByCode: Record<string, number[]>;
  /** Delivery attempts by target, then outcome, by the time of the attempt. */
  deliveries: Record<string, Record<AttemptOutcome, number[]>>;
  /** Dead letters by the time they were made. */
  deadLetters: number[];
}

export type SearchVerdict = 'accepted' | 'skipped' | 'rejected';

export interface RecordSearch extends PageRequest {
  source?: string;
  id?: string;
  /** The record's `subject` (the customer in the shipped ruleset); for a rejection, its payload's top-level `subject`. */
  subject?: string;
  verdict?: SearchVerdict;
  /** A skip code, or any reason code of a rejection. */
  code?: string;
  /** Received in [from, to). */
  from?: Date;
  to?: Date;
}

/** One line of a search: a stored record, or an entry of the rejection log. */
export interface RecordHit {
  kind: 'record' | 'rejection';
  source: string;
  id: string;
  type: string | null;
  subject: string | null;
  verdict: SearchVerdict;
  /** The skip code, or the first reason's code. */
  code: string | null;
  /** Every reason's code of a rejection; the skip code of a skipped record; empty for accepted ones. */
  codes: string[];
  rulesetVersion: string;
  receivedAt: Date;
  /** A rejection's `seq` in the rejection log. */
  seq: string;
}

export interface InsightStore {
  timeSeries(request: TimeSeriesRequest): Promise<TimeSeries>;
  /** Records and rejections matching every given filter, newest received first. */
  searchRecords(filter?: RecordSearch): Promise<Page<RecordHit>>;
}
