/**
 * The delivery side of the store port, for the forwarder: claims with leases, settling each attempt,
 * dead letters and replays. A claimed row is held by its lease token; whoever holds it settles it.
 */
import type { DeliveryStatus } from './record-store.js';
import type { Page, PageRequest } from './store.js';

export interface ClaimOptions {
  target: string;
  limit: number;
  leaseMs: number;
  /** Who holds the lease; kept with each attempt for tracing. */
  worker: string;
  now: Date;
  /**
   * The rows will be settled through other connections to the store (a queue relay hands them to workers):
   * the lease must be kept where every connection sees it. The SQLite store otherwise keeps the leases of
   * a target in the memory of the one connection that delivers it; the other stores always share them.
   */
  handOver?: boolean;
  /**
   * The caller reads `bodyJson` only: a store that gives it may leave `body` undefined instead of parsing
   * every body it hands out (the memory and PostgreSQL stores parse anyway; SQLite does not).
   */
  bodyJsonOnly?: boolean;
}

/** What proves the lease: the row and the token its claim returned. A claimed delivery is one. */
export interface LeaseRef {
  id: string;
  leaseToken: string;
}

export interface ClaimedDelivery extends LeaseRef {
  target: string;
  /** The record's identity; the idempotency key is derived from it. */
  source: string;
  recordId: string;
  /** The target mapping's output; undefined when the claim asked for `bodyJsonOnly` and `bodyJson` is given. */
  body: unknown;
  /**
   * `body` as the JSON text the store holds (the memory, SQLite and PostgreSQL stores all give it): a preset
   * that sends the body as it is sends this text instead of serialising `body` again. A store of one's own
   * may leave it out.
   */
  bodyJson?: string;
  attempts: number;
  replays: number;
  createdAt: Date;
  nextAttemptAt: Date;
  leaseExpiresAt: Date;
  /**
   * When the row's current run of tries began: the time of its first counted failed try since it was queued,
   * replayed or retried from a dead letter (`retryLater` with `countAttempt` writes it once; requeueing clears
   * it). Undefined before such a failure. The forwarder counts a target's max age from it, so a worker that
   * restarts does not count from the row's creation.
   */
  firstTryAt?: Date;
}

/** One attempt as the forwarder saw it. */
export interface AttemptReport {
  /** When the attempt was made. */
  at: Date;
  statusCode?: number;
  latencyMs?: number;
  /** The target's answer (a parsed body or an excerpt); stored as JSON. */
  answer?: unknown;
}

export interface DeliveryReceipt extends AttemptReport {
  targetId?: string;
}

/** One confirmed delivery of an `ackMany` batch. */
export interface AckRequest {
  ref: LeaseRef;
  receipt: DeliveryReceipt;
}

/**
 * What became of one `ackMany` entry: `null` when it was acked, else the error `ack` would have thrown for it
 * (LeaseLostError, StoreNotFoundError), in which case nothing of that entry was written.
 */
export type AckResult = Error | null;

export interface RetryReport extends AttemptReport {
  error: string;
  nextAttemptAt: Date;
  /**
   * Default true. False for an item refused only because another item of its batch was bad: the
   * attempt is logged but does not count against the attempt limit.
   */
  countAttempt?: boolean;
}

export interface DeadLetterReport extends AttemptReport {
  reason: string;
  /** A stable code for filtering (e.g. HTTP_400, MAX_ATTEMPTS, MAPPING_REFUSED). */
  code?: string;
}

export type DeadLetterStatus = 'dead' | 'retried' | 'discarded';

export interface DeadLetter {
  id: string;
  outboxId: string;
  target: string;
  source: string;
  recordId: string;
  reason: string;
  code: string | null;
  statusCode: number | null;
  answer: unknown;
  at: Date;
  status: DeadLetterStatus;
  resolvedAt: Date | null;
  resolvedBy: string | null;
}

export interface DeadLetterFilter extends PageRequest {
  target?: string;
  code?: string;
  /** Matches dead letters whose reason contains this text (case-sensitive). */
  reason?: string;
  /** Default 'dead': the ones still waiting for a decision. */
  status?: DeadLetterStatus;
  /** Dead-lettered in [from, to). */
  from?: Date;
  to?: Date;
}

export interface Resolution {
  at: Date;
  /** Who decided (an account's username); kept on the dead letter. */
  by?: string;
}

export interface RequeueFilter {
  /** Delivered (confirmed by the target) in [from, to). */
  from: Date;
  to: Date;
  source?: string;
  target?: string;
  /** When the new attempts become due. */
  at: Date;
}

export interface TargetStats {
  pending: number;
  /** Pending rows whose lease has not expired: in flight now. */
  leased: number;
  delivered: number;
  dead: number;
  discarded: number;
  oldestPendingAt: Date | null;
  oldestPendingAgeMs: number | null;
}

export interface StoreStats {
  records: { accepted: number; skipped: number; rejected: number };
  deliveries: Record<DeliveryStatus, number>;
  /** Dead letters still waiting for a decision. */
  openDeadLetters: number;
  targets: Record<string, TargetStats>;
  oldestPendingAt: Date | null;
  oldestPendingAgeMs: number | null;
}

export interface OutboxStore {
  /**
   * Leases up to `limit` pending rows of `target` that are due (`nextAttemptAt <= now`) and not leased,
   * or whose lease has expired, until `now + leaseMs`. Two claimers never get the same row. Oldest due first.
   */
  claim(options: ClaimOptions): Promise<ClaimedDelivery[]>;
  /**
   * The target confirmed: the row is delivered and the receipt kept. Like retryLater and deadLetter it
   * records the attempt, and it is refused with LeaseLostError unless `ref` holds the row's current lease
   * (a lease that expired but was not claimed again is still held).
   */
  ack(ref: LeaseRef, receipt: DeliveryReceipt): Promise<void>;
  /**
   * Many `ack`s in one write (one transaction, as few statements as the adapter can), for a forwarder
   * settling a batch of answers. Each entry is checked and written exactly as `ack` would; an entry whose
   * lease is not held (or whose row does not exist) is refused on its own — its slot in the answer holds the
   * error, in the order of `acks` — and the others are written. The call itself rejects, having written
   * nothing, on malformed input or when the store fails (BLH_ERR_STORE_WRITE). An empty list writes nothing.
   */
  ackMany(acks: readonly AckRequest[]): Promise<AckResult[]>;
  /** A retryable failure: the row waits until `nextAttemptAt` and the lease is released. */
  retryLater(ref: LeaseRef, report: RetryReport): Promise<void>;
  /** A permanent refusal: the row is dead and a dead letter records why. */
  deadLetter(ref: LeaseRef, report: DeadLetterReport): Promise<DeadLetter>;
  listDeadLetters(filter?: DeadLetterFilter): Promise<Page<DeadLetter>>;
  /** Puts the row back in the outbox as pending, due at `at`; the dead letter stays, marked retried. */
  retryDeadLetter(id: string, resolution: Resolution): Promise<DeadLetter>;
  /** Gives up on the row; both the row and the dead letter stay, marked discarded. */
  discardDeadLetter(id: string, resolution: Resolution): Promise<DeadLetter>;
  /** For replays: delivered rows matching the filter become pending again. Returns how many. */
  requeueDelivered(filter: RequeueFilter): Promise<number>;
  stats(options: { now: Date }): Promise<StoreStats>;
  /**
   * For a store where one connection at a time delivers a target (SQLite): the other store that holds
   * `target` at `now`, and until when, so a forwarder whose claims come back empty can say it stands by.
   * Undefined when this store may claim it. Stores that share rows between claimers do not have it.
   */
  heldElsewhere?(target: string, now: Date): Promise<TargetHolder | undefined>;
  /**
   * For the same stores: this store stops delivering `target` for now (its forwarder stopped, the store stays
   * open). Leases it keeps for the target's rows are written onto the rows, where every store honours them,
   * and the target's lock is let go, so another store takes the target over at its next claim instead of when
   * the lock expires. A later claim of this store takes the lock again if it is free. Nothing to do when this
   * store does not hold the target. Call it once nothing claims the target through this store any more (the
   * forwarder and the queue relay call it as they stop): rows a claim hands out while it runs are not covered.
   */
  releaseTarget?(target: string): Promise<void>;
  /**
   * For stores whose rows of one target are sent by several processes at once (PostgreSQL): locks on the keys a
   * target wants at most one request in flight for (Stripe: customer and meter), held across processes. Each
   * caller (a forwarder's runner) gets a set of its own; see KeyLockSet. Stores where one process delivers a
   * target (SQLite) do not need it: that process's memory is enough.
   */
  keyLocks?(target: string): KeyLockSet;
}

/**
 * Key locks of one target, for one caller. A key is held by at most one set at a time, in every process that
 * shares the store, until this set unlocks it or closes — or the store loses the connection that holds it
 * (the process died, the database restarted), which lets go of all of them at once.
 */
export interface KeyLockSet {
  /** Whether this set holds `key` now (false once the store lost the locks' connection). Synchronous. */
  holds(key: string): boolean;
  /** Tries to take `keys`, without waiting; answers those it took. A key held elsewhere (another set, another process) is not taken. */
  lock(keys: readonly string[]): Promise<string[]>;
  /** Lets go of `keys` (those this set holds). */
  unlock(keys: readonly string[]): Promise<void>;
  /** Lets go of every key this set holds; the set is not used again. */
  close(): Promise<void>;
}

/** Who delivers a target, as another store sees it. */
export interface TargetHolder {
  /** `host:pid:random` of the store that holds the target. */
  holder: string;
  /** When its lock expires unless it renews it. */
  until: Date;
}
