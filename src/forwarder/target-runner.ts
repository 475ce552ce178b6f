/**
 * One target's delivery loop: claim rows with a lease, group them into requests, send them (at most
 * `concurrency` requests in flight, at most one per `keyFor` key), and settle each row from the target's
 * answer — ack, retry later, or dead-letter. Nothing waits in memory longer than its lease: a row the loop
 * cannot send in time is left for its lease to lapse, and a crashed loop's rows come back the same way.
 *
 * Claimed rows wait in a short ready queue so a freed slot never waits for a claim's commit; the queue is
 * refilled when it falls under a few rounds of sends. Confirmed deliveries are written in batches (the
 * store's ackMany, when it has one): one write for the answers of up to 25 ms while requests are out.
 */
import type { EventEmitter } from 'node:events';
import { LeaseLostError } from '../ports/errors.ts';
import type { AckResult, ClaimedDelivery, DeliveryReceipt, OutboxStore, TargetHolder } from '../ports/store.ts';
import { askedToWait, isTargetFailure } from './breaker.ts';
import { KeyGate } from './key-gate.ts';
import type { Breaker } from './breaker.ts';
import type { DeliverySent, ForwarderErrorStage, ForwarderEvents, Logger } from './events.ts';
import type { ForwarderMetrics } from './metrics.ts';
import { truncateAnswer } from './retry-policy.ts';
import type { RetryPolicy } from './retry-policy.ts';
import type { Sender } from './send.ts';
import type { DeliveredOutcome, ItemOutcome, OutboxItem, TargetAdapter, TargetAnswer, TargetFailure, TargetRequest } from './targets/index.ts';

/** The store methods the loop uses. */
export type DeliveryStore = Pick<OutboxStore, 'claim' | 'ack' | 'retryLater' | 'deadLetter'> & Partial<Pick<OutboxStore, 'ackMany' | 'heldElsewhere' | 'releaseTarget' | 'keyLocks'>>;

export interface RunnerOptions {
  name: string;
  adapter: TargetAdapter;
  policy: RetryPolicy;
  breaker: Breaker;
  sender: Sender;
  store: DeliveryStore;
  worker: string;
  leaseMs: number;
  pollIntervalMs: number;
  batchSize: number;
  clock: () => number;
  logger: Logger;
  metrics: ForwarderMetrics;
  events: EventEmitter<ForwarderEvents>;
}

interface Claimed {
  row: ClaimedDelivery;
  item: OutboxItem;
  key: string | undefined;
}

export interface RunnerCounts {
  claimed: number;
  requests: number;
  delivered: number;
  duplicates: number;
  retried: number;
  dead: number;
  leaseLost: number;
}

export interface TargetStatsSnapshot {
  preset: string;
  breaker: ReturnType<Breaker['snapshot']>;
  inFlightRequests: number;
  inFlightItems: number;
  /** Claimed rows waiting for a free slot. */
  ready: number;
  counts: RunnerCounts;
  /** Present while another process delivers this target (a SQLite file: one at a time) and this one stands by. */
  standby?: TargetHolder;
}

/**
 * How long settling waits for other answers to share its store transaction, ms, while requests are still out
 * (with none out it does not wait). Each transaction costs a commit and a write of every page it touched, so
 * the store's share of a delivery falls with the rows per transaction: single sends at concurrency 8 to the
 * mock biller gave 0.64x raw undici with 5 ms (33 rows per transaction) and 0.75x with 25 ms (190 rows),
 * 20 µs of CPU less per record (`npm run bench -- forwarding`; docs/guides/forwarding.md).
 */
export const SETTLE_COALESCE_MS = 25;

/** Most confirmed deliveries one ackMany writes; a fuller batch is written at once. */
const MAX_ACK_BATCH = 500;

/** A confirmed delivery waiting for its settle batch. */
interface PendingAck {
  c: Claimed;
  outcome: DeliveredOutcome;
  latencyMs: number;
  /** When the target answered: the receipt's time and the event's. */
  at: Date;
}

function receiptOf(a: PendingAck): DeliveryReceipt {
  const o = a.outcome;
  const receipt: DeliveryReceipt = { at: a.at, statusCode: o.status, latencyMs: a.latencyMs };
  if (o.targetId !== undefined) receipt.targetId = o.targetId;
  if (o.duplicate === true) receipt.answer = { duplicate: true };
  return receipt;
}

/** Rows remembered for their first failure (for max age) or to be sent alone; bounded, oldest forgotten first. */
const MEMORY_LIMIT = 100_000;

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.has(key)) return;
  if (map.size >= MEMORY_LIMIT) map.delete(map.keys().next().value!);
  map.set(key, value);
}

const isFailure = (answer: TargetAnswer | TargetFailure): answer is TargetFailure => (answer as TargetFailure).error !== undefined;

function statusClass(answer: TargetAnswer | TargetFailure): string {
  return isFailure(answer) ? 'error' : `${Math.floor(answer.status / 100)}xx`;
}

/** What is kept of an answer on a retry: a short excerpt (a dead letter keeps more). */
function excerpt(answer: TargetAnswer | TargetFailure, max: number): string | undefined {
  return isFailure(answer) || answer.body === '' ? undefined : truncateAnswer(answer.body, max);
}

export class TargetRunner {
  readonly name: string;
  readonly counts: RunnerCounts = { claimed: 0, requests: 0, delivered: 0, duplicates: 0, retried: 0, dead: 0, leaseLost: 0 };
  private readonly o: RunnerOptions;
  private readonly adapter: TargetAdapter;
  private ready: Claimed[] = [];
  private inFlightRequests = 0;
  private inFlightItems = 0;
  /** One request in flight per key (the adapter's keyFor), across processes when the store has key locks. */
  private readonly keys: KeyGate;
  private readonly isolate = new Map<string, true>();
  private readonly firstAttempt = new Map<string, number>();
  /** Work in flight (see begin/end) and who waits for the next piece of it to end. */
  private busy = 0;
  private waiting: (() => void)[] = [];
  /** Confirmed deliveries waiting for their settle batch. */
  private acks: PendingAck[] = [];
  /** Metric series of the hot path, looked up once. */
  private readonly hot: {
    attempts: { inc(by?: number): void };
    delivered: { inc(by?: number): void };
    duplicate: { inc(by?: number): void };
    latency: { observe(value: number): void };
    requests: Map<string, { inc(by?: number): void }>;
  };
  private claiming: Promise<number> | undefined;
  /** Another process delivers this target; set and cleared by claim(). */
  private standby: TargetHolder | undefined;
  private gate: { promise: Promise<void>; open: () => void; timer: NodeJS.Timeout } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private running = false;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private readonly readyTarget: number;
  private readonly lowWater: number;
  /** A row is sent only if its lease outlives a whole send by this much. */
  private readonly leaseMargin: number;

  constructor(options: RunnerOptions) {
    this.o = options;
    this.name = options.name;
    this.adapter = options.adapter;
    const capacity = this.adapter.concurrency * this.adapter.maxBatch;
    // A few rounds of sends queued: enough to keep every slot busy while the next claim commits, few
    // enough that no row waits in memory long enough for its lease to run short.
    this.readyTarget = Math.max(1, Math.min(options.batchSize, 16 * capacity));
    // Refilled when under four rounds of sends are left (or half the queue, for large batches): every claim
    // is a transaction of the store, so fewer and larger claims leave more time for sending.
    this.lowWater = Math.max(1, Math.min(Math.ceil(this.readyTarget / 2), 4 * capacity));
    this.leaseMargin = 2 * this.adapter.timeoutMs;
    const locks = this.adapter.keyFor === undefined ? undefined : options.store.keyLocks?.(this.name);
    this.keys = new KeyGate(locks, {
      clock: options.clock,
      wake: () => this.pump(),
      wakeIn: (ms) => this.wakeIn(ms),
      refused: (count) => options.metrics.keyLockRefusals.inc({ target: this.name }, count),
      readyKeys: () => this.ready.map((c) => c.key),
      failed: (stage, error) => this.failed(stage, error),
    });
    const m = options.metrics;
    const target = { target: this.name };
    this.hot = {
      attempts: m.attempts.bind(target),
      delivered: m.deliveries.bind({ target: this.name, outcome: 'delivered' }),
      duplicate: m.deliveries.bind({ target: this.name, outcome: 'duplicate' }),
      latency: m.latency.bind(target),
      requests: new Map(),
    };
  }

  start(): void {
    if (this.stopping) return;
    this.running = true;
    this.pump();
  }

  /** Claims now instead of at the next poll (new rows were queued). */
  wake(): void {
    this.pump();
  }

  /**
   * Called on every breaker change. The change is announced from inside `breaker.state`, possibly in the
   * middle of fill() or dispatch(), so the reaction waits for a microtask.
   */
  onBreakerChange(to: string): void {
    queueMicrotask(() => {
      if (to === 'open') this.wakeIn(this.o.breaker.retryAt() - this.o.clock());
      else this.pump();
    });
  }

  /** Sends what can be sent, then claims more if the ready queue ran low. Every trigger comes through here. */
  private pump(): void {
    if (this.stopping) return;
    this.dispatch();
    if (this.running) this.fill();
  }

  /** Waits for every send in flight to be settled, then hands unsent claimed rows back to the outbox. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      this.running = false;
      this.openGate();
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      await this.claiming;
      while (this.busy > 0) await this.nextEnd();
      const rest = this.ready.splice(0);
      if (rest.length > 0) await this.release(rest, this.o.clock(), 'not sent: the forwarder stopped');
      await this.keys.close();
      await this.letGo();
      await this.o.sender.close();
    })();
    return this.stopped;
  }

  /** One claim, every claimed row sent and settled. For tests and one-shot runs, not while started. */
  async cycle(): Promise<void> {
    if (this.stopping) return;
    const state = this.o.breaker.state;
    if (state !== 'open') await this.claim(state === 'half-open' ? 1 : this.o.batchSize);
    for (;;) {
      this.dispatch();
      if (this.busy === 0) break;
      await this.nextEnd();
    }
    // Left over only when the breaker opened meanwhile or a lease ran short.
    if (this.ready.length > 0) await this.release(this.ready.splice(0), this.o.breaker.retryAt(), 'not sent: the circuit breaker is open');
  }

  snapshot(): TargetStatsSnapshot {
    return {
      preset: this.adapter.preset,
      breaker: this.o.breaker.snapshot(),
      inFlightRequests: this.inFlightRequests,
      inFlightItems: this.inFlightItems,
      ready: this.ready.length,
      counts: { ...this.counts },
      ...(this.standby === undefined ? {} : { standby: { ...this.standby } }),
    };
  }

  /* ---------------------------------------------------------------- claiming */

  private fill(): void {
    if (!this.running || this.stopping || this.claiming !== undefined) return;
    if (this.ready.length >= this.lowWater) return;
    const breaker = this.o.breaker;
    const state = breaker.state;
    if (state === 'open') return this.wakeIn(breaker.retryAt() - this.o.clock());
    if (this.claiming !== undefined) return;
    let limit = this.readyTarget - this.ready.length;
    if (state === 'half-open') {
      // One probe at a time: claim one row, and only when nothing else is out.
      if (this.inFlightRequests > 0 || this.ready.length > 0) return;
      limit = 1;
    }
    const claiming = this.claim(limit);
    this.claiming = claiming;
    void claiming.then((n) => {
      this.claiming = undefined;
      if (n < limit) {
        // The queue is drained for now: send what came, then look again after the poll interval.
        this.dispatch();
        this.wakeIn(this.o.pollIntervalMs);
      } else this.pump();
    });
  }

  /** Never rejects: a failed claim is logged and the loop polls again later. */
  private async claim(limit: number): Promise<number> {
    let rows: ClaimedDelivery[];
    try {
      rows = await this.o.store.claim({
        target: this.name,
        limit,
        leaseMs: this.o.leaseMs,
        worker: this.o.worker,
        now: new Date(this.o.clock()),
        bodyJsonOnly: this.adapter.readsOutputJson === true,
      });
    } catch (error) {
      this.failed('claim', error);
      return 0;
    }
    if (rows.length === 0) await this.checkStandby();
    else this.leaveStandby();
    for (const row of rows) {
      const item: OutboxItem = {
        rowId: row.id,
        source: row.source,
        id: row.recordId,
        idempotencyKey: `${row.source}:${row.recordId}`,
        output: row.body,
        attempt: row.attempts + 1,
      };
      // The store's own JSON text of the body, when it has it: a preset sends it instead of serialising output again.
      if (row.bodyJson !== undefined) item.outputJson = row.bodyJson;
      this.ready.push({ row, item, key: this.adapter.keyFor?.(item) });
    }
    this.counts.claimed += rows.length;
    return rows.length;
  }

  /**
   * Stopped, with nothing in flight: a store that lets one connection at a time deliver the target (SQLite)
   * lets it go now, so another process takes it over at its next claim rather than when the lock expires.
   */
  private async letGo(): Promise<void> {
    const releaseTarget = this.o.store.releaseTarget;
    if (releaseTarget === undefined) return;
    try {
      await releaseTarget.call(this.o.store, this.name);
    } catch (error) {
      // Not lost: the lock expires by itself, and the rows' leases with it.
      this.failed('release', error);
    }
  }

  /** An empty claim: is another process delivering this target? Said once when it starts and when it changes hands. */
  private async checkStandby(): Promise<void> {
    const heldElsewhere = this.o.store.heldElsewhere;
    if (heldElsewhere === undefined) return;
    let holder: TargetHolder | undefined;
    try {
      holder = await heldElsewhere.call(this.o.store, this.name, new Date(this.o.clock()));
    } catch {
      return; // a failing store shows in the next claim
    }
    // Taken over with nothing to send yet: said now, not when the next row comes.
    if (holder === undefined) return this.leaveStandby();
    if (holder.holder !== this.standby?.holder) {
      this.o.logger.info({ target: this.name, holder: holder.holder, until: holder.until.toISOString() }, 'another process delivers this target; standing by');
    }
    this.standby = holder;
  }

  /** This process delivers the target (again): said once, when it stood by before. */
  private leaveStandby(): void {
    if (this.standby === undefined) return;
    this.o.logger.info({ target: this.name, after: this.standby.holder }, 'delivering this target: the process that held it stopped or its lock expired');
    this.standby = undefined;
  }

  private wakeIn(ms: number): void {
    if (this.stopping || !this.running) return;
    const delay = Math.max(0, Math.min(ms, 2 ** 31 - 1));
    const at = Date.now() + delay;
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.pump();
    }, delay);
  }

  /* ---------------------------------------------------------------- sending */

  private dispatch(): void {
    this.sendReady();
    // Keys that ready rows were passed over for (held by another process, or not asked for yet).
    this.keys.ask();
  }

  private sendReady(): void {
    if (this.stopping) return;
    const breaker = this.o.breaker;
    while (this.inFlightRequests < this.adapter.concurrency && this.ready.length > 0) {
      const state = breaker.state;
      if (state === 'open') return this.wakeIn(breaker.retryAt() - this.o.clock());
      if (state === 'half-open' && this.inFlightRequests > 0) return;
      const batch = this.pick(state === 'half-open' ? 1 : this.adapter.maxBatch);
      if (batch.length === 0) return;
      const now = this.o.clock();
      if (batch.length === 1) {
        // A single send, the common case without batches: no lookup from item back to claimed row.
        const c = batch[0]!;
        let built: ReturnType<TargetAdapter['buildRequests']>;
        try {
          built = this.adapter.buildRequests([c.item], now);
        } catch (error) {
          this.buildFailed(batch, now, error);
          continue;
        }
        if (built.refused.length > 0) this.track(this.dead(c, 'MAPPING_REFUSED', built.refused[0]!.outcome.reason, { at: now }));
        const req = built.requests[0];
        if (req === undefined) continue;
        if (!breaker.tryAcquire()) {
          this.ready.unshift(c);
          return this.wakeIn(breaker.retryAt() - this.o.clock());
        }
        this.send(req, batch);
        continue;
      }
      const byRow = new Map(batch.map((c) => [c.row.id, c]));
      let built: ReturnType<TargetAdapter['buildRequests']>;
      try {
        built = this.adapter.buildRequests(batch.map((c) => c.item), now);
      } catch (error) {
        this.buildFailed(batch, now, error);
        continue;
      }
      for (const r of built.refused) {
        this.track(this.dead(byRow.get(r.item.rowId)!, 'MAPPING_REFUSED', r.outcome.reason, { at: now }));
      }
      for (let i = 0; i < built.requests.length; i++) {
        const req = built.requests[i]!;
        if (!breaker.tryAcquire()) {
          // The breaker opened, or its one probe is out: these wait for the next chance.
          const back = built.requests.slice(i).flatMap((r) => r.items.map((it) => byRow.get(it.rowId)!));
          this.ready.unshift(...back);
          return this.wakeIn(breaker.retryAt() - this.o.clock());
        }
        this.send(req, req.items.map((it) => byRow.get(it.rowId)!));
      }
    }
  }

  /** An adapter bug, not the items' fault: retry them later rather than lose them. */
  private buildFailed(batch: Claimed[], now: number, error: unknown): void {
    this.failed('classify', error);
    this.track(this.release(batch, now + this.o.pollIntervalMs, `the ${this.adapter.preset} adapter failed to build the request: ${(error as Error).message}`));
  }

  /** Takes up to `max` rows off the ready queue, in order, skipping busy keys; an isolated row goes alone. */
  private pick(max: number): Claimed[] {
    const now = this.o.clock();
    const out: Claimed[] = [];
    const ready = this.ready;
    // Rows that stay are moved down in place to `kept`; rows taken or left to lapse are dropped.
    let kept = 0;
    let i = 0;
    for (; i < ready.length && out.length < max; i++) {
      const c = ready[i]!;
      // Too little lease left to send safely: let it lapse; a claim (ours or another worker's) takes it back.
      if (c.row.leaseExpiresAt.getTime() - now < this.leaseMargin) continue;
      if (c.key !== undefined && !this.keys.free(c.key)) {
        ready[kept++] = c;
        continue;
      }
      if (this.isolate.size > 0 && this.isolate.has(c.row.id)) {
        if (out.length > 0) {
          ready[kept++] = c;
          continue;
        }
        out.push(c);
        i += 1;
        break;
      }
      out.push(c);
    }
    if (kept === 0 && i === 1) ready.shift();
    else if (kept !== i) ready.splice(kept, i - kept);
    return out;
  }

  private send(req: TargetRequest, items: Claimed[]): void {
    this.inFlightRequests += 1;
    this.inFlightItems += items.length;
    for (const c of items) if (c.key !== undefined) this.keys.take(c.key);
    this.counts.requests += 1;
    this.hot.attempts.inc(items.length);
    const started = performance.now();
    this.begin();
    // One promise per send: the sender never rejects, and `answered` settles synchronously or hands the
    // settling to tracked work of its own.
    this.o.sender.send(req).then(
      (answer) => {
        try {
          this.answered(req, items, answer, started);
        } catch (error) {
          this.failed('settle', error);
        } finally {
          this.end();
        }
      },
      (error: unknown) => {
        this.failed('settle', error);
        this.end();
      },
    );
  }

  private answered(req: TargetRequest, items: Claimed[], answer: TargetAnswer | TargetFailure, started: number): void {
    const latencyMs = performance.now() - started;
    const now = this.o.clock();
    let outcomes: ItemOutcome[];
    try {
      outcomes = this.adapter.classify(req, answer, now);
      if (outcomes.length !== items.length) throw new Error(`classify answered ${outcomes.length} outcomes for ${items.length} items`);
    } catch (error) {
      this.failed('classify', error);
      outcomes = items.map(() => ({ kind: 'retry', reason: `the ${this.adapter.preset} adapter could not read the answer: ${(error as Error).message}` }));
    }
    if (isTargetFailure(outcomes)) this.o.breaker.failure(askedToWait(outcomes));
    else this.o.breaker.success();
    this.requestsBy(answer).inc();
    this.hot.latency.observe(latencyMs / 1000);

    // The slot and the keys are free once the target answered; settling is the store's business.
    this.inFlightRequests -= 1;
    this.inFlightItems -= items.length;
    for (const c of items) if (c.key !== undefined) this.keys.done(c.key);
    this.pump();

    for (let i = 0; i < items.length; i++) {
      const c = items[i]!;
      const outcome = outcomes[i]!;
      if (outcome.kind === 'delivered') this.queueAck({ c, outcome, latencyMs, at: new Date(now) });
      else this.track(this.settleTurn().then(() => this.settle(c, outcome, answer, latencyMs, now)));
    }
    // No request left out: no other answer is coming to share the transaction, so it is written now.
    if (this.inFlightRequests === 0) this.openGate();
  }

  /** The requests counter of an answer's status class, looked up once per class. */
  private requestsBy(answer: TargetAnswer | TargetFailure): { inc(by?: number): void } {
    const status = statusClass(answer);
    let series = this.hot.requests.get(status);
    if (series === undefined) {
      series = this.o.metrics.requests.bind({ target: this.name, status });
      this.hot.requests.set(status, series);
    }
    return series;
  }

  /* ---------------------------------------------------------------- settling */

  /**
   * Answers that arrive within SETTLE_COALESCE_MS of each other are settled together: confirmed deliveries
   * wait in `acks` and are written by one `ackMany` (one statement or transaction for the lot), and the
   * other outcomes' store calls are made in one go, so the store's group commit writes them in one
   * transaction instead of one per event-loop turn. The slot was freed already, so this delays only the
   * bookkeeping, never a send; nothing counts as delivered before the store has written it.
   */
  private settleTurn(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return this.openGateLater().promise;
  }

  private openGateLater(): { promise: Promise<void>; open: () => void; timer: NodeJS.Timeout } {
    if (this.gate === undefined) {
      let open!: () => void;
      const promise = new Promise<void>((r) => (open = r));
      const timer = setTimeout(() => this.openGate(), SETTLE_COALESCE_MS);
      this.gate = { promise, open, timer };
    }
    return this.gate;
  }

  private openGate(): void {
    const gate = this.gate;
    if (gate !== undefined) {
      this.gate = undefined;
      clearTimeout(gate.timer);
      gate.open();
    }
    this.flushAcks();
  }

  private queueAck(ack: PendingAck): void {
    // The batch waiting in `acks` is one unit of work: stop() and cycle() wait for it like for a send.
    if (this.acks.length === 0) this.begin();
    this.acks.push(ack);
    if (this.stopping || this.acks.length >= MAX_ACK_BATCH) this.flushAcks();
    else this.openGateLater();
  }

  private flushAcks(): void {
    const batch = this.acks;
    if (batch.length === 0) return;
    this.acks = [];
    this.ackBatch(batch).then(
      () => this.end(),
      (error: unknown) => {
        this.failed('settle', error);
        this.end();
      },
    );
  }

  /** Writes a batch of confirmed deliveries; each is reported once the store holds it. */
  private async ackBatch(batch: PendingAck[]): Promise<void> {
    const store = this.o.store;
    if (store.ackMany === undefined) {
      // A store without ackMany (a wrapper, a store of one's own): one ack per row, made in one go.
      await Promise.all(batch.map(async (a) => (await this.guard(a.c, () => store.ack(a.c.row, receiptOf(a)))) && this.acked(a)));
      return;
    }
    let results: AckResult[];
    try {
      results = await store.ackMany(batch.map((a) => ({ ref: a.c.row, receipt: receiptOf(a) })));
      if (results.length !== batch.length) throw new Error(`ackMany answered ${results.length} results for ${batch.length} acks`);
    } catch (error) {
      for (const a of batch) this.settleFailed(a.c, error);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const error = results[i];
      if (error === null || error === undefined) this.acked(batch[i]!);
      else this.settleFailed(batch[i]!.c, error);
    }
  }

  private acked(a: PendingAck): void {
    const { c, outcome, latencyMs } = a;
    const duplicate = outcome.duplicate === true;
    this.forget(c.row.id);
    if (duplicate) {
      this.counts.duplicates += 1;
      this.hot.duplicate.inc();
    } else {
      this.counts.delivered += 1;
      this.hot.delivered.inc();
    }
    const events = this.o.events;
    if (events.listenerCount('delivery:sent') === 0) return;
    // One literal of a fixed shape (no spreads): this runs for every delivery someone listens to.
    const row = c.row;
    const sent: DeliverySent = { target: this.name, rowId: row.id, source: row.source, recordId: row.recordId, attempt: c.item.attempt, at: a.at, statusCode: outcome.status, duplicate, latencyMs };
    if (outcome.targetId !== undefined) sent.targetId = outcome.targetId;
    events.emit('delivery:sent', sent);
  }

  /** A retry or a dead letter (confirmed deliveries go to queueAck). */
  private async settle(c: Claimed, outcome: Exclude<ItemOutcome, DeliveredOutcome>, answer: TargetAnswer | TargetFailure, latencyMs: number, now: number): Promise<void> {
    const statusCode = isFailure(answer) ? undefined : answer.status;
    const at = new Date(now);
    const first = this.firstAttemptOf(c, now);
    const decision = this.o.policy.decide({ attempt: c.item.attempt, firstAttemptAt: first, now, outcome });
    if (decision.action === 'dead') {
      const code = this.deadCode(outcome, c.item.attempt, first, now);
      const kept = outcome.kind === 'permanent' && outcome.answer !== undefined ? outcome.answer : excerpt(answer, 2000);
      return this.dead(c, code, decision.reason, { at: now, statusCode, latencyMs, answer: kept });
    }
    const counted = !(outcome.kind === 'retry' && outcome.collateral === true);
    const isolate = outcome.kind === 'retry' && outcome.isolate === true;
    const ok = await this.guard(c, () =>
      this.o.store.retryLater(c.row, {
        at,
        ...(statusCode === undefined ? {} : { statusCode }),
        latencyMs,
        answer: excerpt(answer, 500),
        error: outcome.reason,
        nextAttemptAt: new Date(decision.at),
        countAttempt: counted,
      }),
    );
    if (!ok) return;
    remember(this.firstAttempt, c.row.id, first);
    if (isolate) remember(this.isolate, c.row.id, true);
    this.counts.retried += 1;
    this.o.metrics.deliveries.inc({ target: this.name, outcome: 'retry' });
    this.o.logger.debug({ target: this.name, rowId: c.row.id, attempt: c.item.attempt, reason: outcome.reason, nextAttemptAt: new Date(decision.at).toISOString(), counted, isolate }, 'delivery will be retried');
    this.o.events.emit('delivery:retry', {
      ...this.ids(c, at),
      ...(statusCode === undefined ? {} : { statusCode }),
      reason: outcome.reason,
      nextAttemptAt: new Date(decision.at),
      counted,
      isolate,
    });
  }

  private async dead(c: Claimed, code: string, reason: string, report: { at: number; statusCode?: number | undefined; latencyMs?: number; answer?: unknown }): Promise<void> {
    const at = new Date(report.at);
    let id = '';
    const ok = await this.guard(c, async () => {
      const letter = await this.o.store.deadLetter(c.row, {
        at,
        ...(report.statusCode === undefined ? {} : { statusCode: report.statusCode }),
        ...(report.latencyMs === undefined ? {} : { latencyMs: report.latencyMs }),
        ...(report.answer === undefined ? {} : { answer: report.answer }),
        reason,
        code,
      });
      id = letter.id;
    });
    if (!ok) return;
    this.forget(c.row.id);
    this.counts.dead += 1;
    this.o.metrics.deliveries.inc({ target: this.name, outcome: 'dead' });
    this.o.metrics.deadLetters.inc({ target: this.name, code });
    this.o.logger.warn({ target: this.name, rowId: c.row.id, source: c.row.source, recordId: c.row.recordId, code, reason }, 'delivery dead-lettered');
    this.o.events.emit('delivery:dead', {
      ...this.ids(c, at),
      ...(report.statusCode === undefined ? {} : { statusCode: report.statusCode }),
      reason,
      code,
      deadLetterId: id,
    });
  }

  /** Hands claimed rows back unsent, due at `at`; the attempt is logged but not counted. */
  private async release(items: Claimed[], at: number, reason: string): Promise<void> {
    const now = new Date(this.o.clock());
    await Promise.all(
      items.map((c) =>
        this.guard(c, () => this.o.store.retryLater(c.row, { at: now, error: reason, nextAttemptAt: new Date(Math.max(at, now.getTime())), countAttempt: false })),
      ),
    );
  }

  /** Runs a settling call; a lost lease is expected (another worker took the row), anything else is reported. */
  private async guard(c: Claimed, fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (error) {
      this.settleFailed(c, error);
      return false;
    }
  }

  /** A lost lease is expected (another worker took the row), anything else is reported. */
  private settleFailed(c: Claimed, error: unknown): void {
    if (error instanceof LeaseLostError) {
      this.counts.leaseLost += 1;
      this.o.metrics.deliveries.inc({ target: this.name, outcome: 'lease_lost' });
      this.o.logger.debug({ target: this.name, rowId: c.row.id }, 'lease lost before settling; another worker has the row');
    } else {
      this.failed('settle', error, c.row.id);
    }
  }

  private deadCode(outcome: Exclude<ItemOutcome, { kind: 'delivered' }>, attempt: number, first: number, now: number): string {
    if (outcome.kind === 'permanent') return outcome.status === undefined ? 'REFUSED' : `HTTP_${outcome.status}`;
    const limits = this.o.policy.limits;
    if (now >= first + limits.maxAgeMs) return 'MAX_AGE';
    if (!outcome.collateral && attempt >= limits.attempts) return 'MAX_ATTEMPTS';
    return 'MAX_AGE';
  }

  /**
   * When the row's first try since it was queued happened, for the max-age limit. The port does not keep it,
   * so: remembered in this process; else now for a row never tried (or replayed); else its creation.
   */
  private firstAttemptOf(c: Claimed, now: number): number {
    const known = this.firstAttempt.get(c.row.id);
    if (known !== undefined) return known;
    // Kept by the store since its first counted failure: the same after a restart or on another worker.
    const stored = c.row.firstTryAt;
    if (stored !== undefined) return stored.getTime();
    if (c.row.attempts === 0 || c.row.replays > 0) return now;
    // A store that does not keep it (or a row that failed before it did): the row's creation.
    return c.row.createdAt.getTime();
  }

  private forget(rowId: string): void {
    this.firstAttempt.delete(rowId);
    this.isolate.delete(rowId);
  }

  private ids(c: Claimed, at: Date) {
    return { target: this.name, rowId: c.row.id, source: c.row.source, recordId: c.row.recordId, attempt: c.item.attempt, at };
  }

  /** Keeps the promise until it settles, so stop() and cycle() can wait for it; it never rejects. */
  private track(p: Promise<void>): void {
    this.begin();
    p.then(
      () => this.end(),
      (error: unknown) => {
        this.failed('settle', error);
        this.end();
      },
    );
  }

  /** One more piece of work (a send, a settling, a batch of acks) that stop() and cycle() wait for. */
  private begin(): void {
    this.busy += 1;
  }

  private end(): void {
    this.busy -= 1;
    const waiting = this.waiting;
    if (waiting.length > 0) {
      this.waiting = [];
      for (const wake of waiting) wake();
    }
  }

  /** Resolves when the next piece of work ends. */
  private nextEnd(): Promise<void> {
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private failed(during: ForwarderErrorStage, error: unknown, rowId?: string): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.o.logger.error({ target: this.name, during, err, ...(rowId === undefined ? {} : { rowId }) }, `forwarder: ${during} failed`);
    this.o.events.emit('forwarder:error', { target: this.name, during, error: err });
  }
}
