/**
 * The queue port: how a committed outbox row is handed from the ingest side to the workers when one
 * process is outgrown. The store stays the source of truth; the queue only carries "this row is due".
 *
 * What travels is the row as the relay claimed it (`ClaimedDelivery`, lease token included). The relay's
 * lease *is* the hand-over: the row stays pending in the outbox, leased to the relay, until a worker
 * settles it with that token after the target answered. If the message is lost, refused or stuck, the
 * lease runs out and the relay claims and publishes the row again — so there is no moment when a row is
 * in neither place, and a duplicate message costs at most a second send that the target's idempotency
 * key makes harmless.
 *
 * Adapters: `createMemoryQueue` (tests, examples, one process) and `createAmqpQueue` (RabbitMQ). Both
 * pass test/queue/conformance.ts.
 */
import type { EventEmitter } from 'node:events';
import type { ClaimedDelivery } from '../ports/store.ts';

/** A delivery as a consumer receives it. */
export interface QueuedDelivery extends ClaimedDelivery {
  /** The broker gave this message to a consumer before (which did not settle it: it crashed, or answered 'retry'). */
  redelivered: boolean;
}

/**
 * What a handler answers for a message:
 * - `ack`: done with it (delivered, or settled in the store some other way): the queue forgets it;
 * - `retry`: give it back now; it is delivered again, maybe to another consumer;
 * - `dead`: refuse it for good: it goes to the dead-letter queue (the row itself is untouched).
 * A handler that throws counts as `retry`.
 */
export type QueueVerdict = 'ack' | 'retry' | 'dead';

export type DeliveryHandler = (delivery: QueuedDelivery) => Promise<QueueVerdict>;

export interface ConsumeOptions {
  /** The most messages this consumer holds unsettled at once: its concurrency limit. */
  prefetch: number;
}

export interface Consumer {
  readonly target: string;
  /**
   * Takes no new messages from now on, waits for the handlers in flight and applies their verdicts.
   * Idempotent. Messages it never got stay in the queue for other consumers.
   */
  stop(): Promise<void>;
}

export interface QueueDepth {
  /** Messages waiting for a consumer (not counting those a consumer holds right now). */
  waiting: number;
  /** Messages in the target's dead-letter queue. */
  dead: number;
}

export interface QueueEvents {
  /** The connection to the broker was lost; the adapter reconnects by itself. */
  'queue:disconnected': [{ error: Error }];
  /** Connected again (and topology and consumers restored). */
  'queue:reconnected': [{ attempts: number }];
  /** A message could not be read as a delivery; it was sent to the dead-letter queue. */
  'message:malformed': [{ target: string; error: Error }];
}

export interface Queue {
  /**
   * Hands the deliveries over. Resolves only once the queue has them durably (RabbitMQ: every publisher
   * confirm received). Rejects with BLH_ERR_QUEUE_UNAVAILABLE or BLH_ERR_QUEUE_REFUSED when any of them
   * is not confirmed — then none counts as handed over, though some may still arrive (a retry may
   * duplicate them, which is fine). Deliveries go to the queue of their `target`.
   */
  publish(deliveries: readonly ClaimedDelivery[]): Promise<void>;
  /**
   * Starts a consumer of one target's queue. Resolves once it is registered; while the broker is away it
   * waits for the connection to come back and resumes by itself.
   */
  consume(target: string, options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer>;
  depth(target: string): Promise<QueueDepth>;
  /** True while connected. Never throws. */
  ready(): Promise<boolean>;
  /** Stops every consumer (waiting for their handlers), then disconnects. Idempotent; later calls fail with BLH_ERR_QUEUE_CLOSED. */
  close(): Promise<void>;
  readonly events: EventEmitter<QueueEvents>;
}

/** The part of pino the queue, relay and worker use (the forwarder's); silent by default. */
export { silentLogger, type Logger } from '../forwarder/events.ts';
