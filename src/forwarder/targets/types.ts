/**
 * The contract between the forwarder loop and a target preset.
 *
 * An adapter is pure: it turns outbox rows into HTTP requests and reads the answers back into one outcome per
 * row. It never does I/O, never sleeps and never reads the clock — time comes in as `now` (epoch ms).
 */

/** One outbox row, as the forwarder claimed it. */
export interface OutboxItem {
  rowId: string;
  /** Record identity. */
  source: string;
  id: string;
  /** Derived from the record (`<source>:<id>`); the same on every attempt. */
  idempotencyKey: string;
  /** The target mapping's output for this record: exactly the element the preset sends. */
  output: unknown;
  /** `output` as JSON text, when the store handed it over as such: sent as it is instead of serialising `output` again. */
  outputJson?: string;
  /** 1 on the first send. */
  attempt: number;
}

export interface TargetRequest {
  method: 'POST';
  /** `scheme://host[:port]`: pick the undici Pool/Client by this. */
  origin: string;
  /** Path (with the base URL's path prefix, if any) and query. */
  path: string;
  /** Header names are lower case. */
  headers: Record<string, string>;
  body: string;
  /** The rows this request carries, in body order. */
  items: OutboxItem[];
}

export interface TargetAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The request failed without an answer: connection refused or reset, timeout, abort. */
export interface TargetFailure {
  error: Error;
}

export interface DeliveredOutcome {
  kind: 'delivered';
  status: number;
  /** The target's id for the stored item, when it says one. */
  targetId?: string;
  /** The target said it already had this item (its "already delivered" answer). */
  duplicate?: boolean;
}

export interface RetryOutcome {
  kind: 'retry';
  /** Absent when there was no answer (network error, timeout). */
  status?: number;
  /** What the target asked for (Retry-After), in ms from the answer. A floor for the next attempt. */
  retryAfterMs?: number;
  reason: string;
  /**
   * The item was refused only because another item in its batch was bad (the target refuses a batch
   * as a whole). Send it again at once; it is not a failure of this item or of the target, so it
   * should not count against the attempt limit nor trip the breaker.
   */
  collateral?: boolean;
  /**
   * The target refused a batch without saying which item was bad: send this item in a request of its
   * own next time (`buildRequests([item])`), so a bad item is found and dead-lettered on its own.
   */
  isolate?: boolean;
}

export interface PermanentOutcome {
  kind: 'permanent';
  /** Absent when the adapter refused the item without sending it (`BuildResult.refused`). */
  status?: number;
  reason: string;
  /** The target's answer body (truncated), for the dead-letter table. Absent when never sent. */
  answer?: string;
}

export type ItemOutcome = DeliveredOutcome | RetryOutcome | PermanentOutcome;

/** An item the adapter will not send: its output can never be accepted (wrong shape, out of the target's window). */
export interface RefusedItem {
  item: OutboxItem;
  outcome: PermanentOutcome;
}

export interface BuildResult {
  requests: TargetRequest[];
  refused: RefusedItem[];
}

export interface TargetAdapter {
  /** Configured name of the target (`lago`, `billing-eu`...). */
  readonly name: string;
  /** The preset this adapter implements. */
  readonly preset: TargetPreset;
  /** Most items one request carries. 1 = no batches. */
  readonly maxBatch: number;
  /** Most requests in flight at once for this target. */
  readonly concurrency: number;
  /** Per-request timeout (headers and body), ms. */
  readonly timeoutMs: number;
  /**
   * Groups items into requests (at most `maxBatch` per request, input order kept). Items whose output the
   * target would refuse are returned in `refused` with a permanent outcome and are not sent.
   * `now` (epoch ms) is needed by presets with a time window (Stripe); default `Date.now()`.
   */
  buildRequests(items: OutboxItem[], now?: number): BuildResult;
  /**
   * One outcome per `req.items`, same order. `now` (epoch ms) turns an HTTP-date Retry-After into a delay;
   * default `Date.now()`.
   */
  classify(req: TargetRequest, answer: TargetAnswer | TargetFailure, now?: number): ItemOutcome[];
  /** Serialisation key: at most one request in flight per key. Absent = no constraint. */
  keyFor?(item: OutboxItem): string;
  /**
   * True when `buildRequests` and `keyFor` read only `outputJson` whenever an item has it (the output sent
   * as the store holds it): the forwarder then asks the store not to parse the bodies it claims.
   */
  readonly readsOutputJson?: boolean;
}

export const TargetPresets = ['http', 'lago', 'openmeter', 'stripe'] as const;
export type TargetPreset = (typeof TargetPresets)[number];

/** Options every preset accepts. */
export interface CommonTargetOptions {
  /** Target name; default: the preset's name. */
  name?: string;
  /** Extra headers sent on every request (auth headers of the preset win). */
  headers?: Record<string, string>;
  /** Most requests in flight at once. */
  concurrency?: number;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
}
