/**
 * Claims and settling.
 *
 * A SQLite file has one writer at a time, so more than one process delivering the same target from it buys
 * nothing but contention. A target is therefore delivered by one store (one connection, in one process) at a
 * time: the store that holds the target's row in `target_locks` (schema step 4). The holder keeps the leases
 * of the rows it hands out in memory — token, worker, expiry per row, the same rules as leases written on the
 * rows — so a claim is a read, with no write at all, and a delivery writes its outbox row once (the receipt).
 *
 * - The lock is taken or renewed in an IMMEDIATE transaction when less than one lease is left on it, for one
 *   and a half leases: every row handed out expires before the lock. Another store gets no rows of the
 *   target (an empty claim) until the lock is released (close(), see releaseAll) or expires — or at once when
 *   its holder was a process of this machine that no longer runs.
 * - A row is handed out when it is pending, due, not leased in memory (unless that lease expired) and not
 *   leased on the row (below). Claims walk the claim index from a cursor, the furthest row handed out; every
 *   second, and whenever that leaves the claim short, one walks it from the start, for rows left behind (a
 *   lapsed lease, a row written late).
 * - Settling checks the lease in memory, and, in the transaction that writes, that this store still holds the
 *   target's lock: a store that lost it (it expired and another store took it) is refused, as a worker whose
 *   row lease was claimed again is.
 * - A hand-over claim (a queue relay's, `handOver: true`) writes its leases on the rows, as they were before
 *   step 4: the workers that settle those rows use connections of their own. Leases on rows are honoured by
 *   every claim, and settled with the row's token.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { LeaseLostError, StoreNotFoundError } from '../../ports/errors.js';
import { prepareAcks, prepareClaim, prepareDeadLetter, prepareLease, prepareReceipt, prepareRetry } from '../../ports/outbox-input.js';
import type { PreparedAttempt, PreparedClaim, PreparedReceipt } from '../../ports/outbox-input.js';
import { rowNumber } from '../../ports/store-input.js';
import { toClaimed, toDeadLetter } from '../../ports/store-rows.js';
import type { DeadLetterRow } from '../../ports/store-rows.js';
import type { AckResult, AttemptOutcome, ClaimedDelivery, LeaseRef, OutboxStore } from '../../ports/store.js';
import { DEAD_LETTER_COLUMNS } from './columns.js';
import type { SqliteContext } from './context.js';
import { addCountStatement, Tally } from './counts.js';

/** A claimed row as the claim's SELECT returns it (raw mode): id, source, record_id, body, attempts, replays, created_at, next_attempt_at, lease_token, first_try_at. */
type ClaimedTuple = [number, string, string, string, number, number, number, number, string | null, number | null];

/** A row this store handed out and has not settled. */
interface Lease {
  target: string;
  token: string;
  worker: string;
  expiresAt: number;
}

/** A target this store holds the lock of. */
interface Hold {
  expiresAt: number;
  /** (next_attempt_at, id) of the furthest row handed out: rows after it were never handed out. */
  cursor: [number, number] | undefined;
  /** `now` of the last claim that walked from the start. */
  fullScanAt: number;
}

/** How often (in the claims' own time) a claim walks the claim index from the start instead of the cursor, ms. */
const FULL_SCAN_EVERY_MS = 1000;

/** How often, at most, an ack batch writes the target's in-flight count on its lock row (for other processes' stats), ms. */
const IN_FLIGHT_NOTE_MS = 1000;

/** The lock is taken for this many leases. */
const LOCK_LEASES = 1.5;

/** Holders are `host:pid:random`: another process of this machine that no longer runs holds nothing. */
function holderGone(holder: string, self: string): boolean {
  const [host, pidText] = holder.split(':');
  const [myHost, myPid] = self.split(':');
  if (host !== myHost || pidText === myPid) return false;
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export interface SqliteClaims extends Pick<OutboxStore, 'claim' | 'ack' | 'ackMany' | 'retryLater' | 'deadLetter'>, Required<Pick<OutboxStore, 'heldElsewhere' | 'releaseTarget'>> {
  /** This store's name in target_locks: `host:pid:random`. */
  holder: string;
  /** Rows leased in memory, per target, whose lease has not expired at `now` (for stats). */
  leasedInMemory(now: number): Map<string, number>;
  /** Writes the leases still held in memory onto their rows and lets go of every lock (close). */
  releaseAll(): void;
}

export function sqliteClaims({ db, writer, open }: SqliteContext): SqliteClaims {
  const self = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  // Oldest due first. status = 'pending' is spelled out so the partial index outbox_claim serves each SELECT;
  // rows come back as arrays (raw mode) and without the target the caller named: this runs for every row sent.
  const columns = 'id, source, record_id, body, attempts, replays, created_at, next_attempt_at, lease_token, first_try_at';
  const free = '(lease_expires_at IS NULL OR lease_expires_at <= @now)';
  // From the cursor: the rest of its instant, then what comes after it. Two SELECTs, each a range of the index.
  const sameInstant = db
    .prepare(`SELECT ${columns} FROM outbox WHERE target = @target AND status = 'pending' AND next_attempt_at = @at AND id > @id AND ${free} ORDER BY id LIMIT @limit`)
    .raw(true);
  const later = db
    .prepare(
      `SELECT ${columns} FROM outbox WHERE target = @target AND status = 'pending' AND next_attempt_at > @at AND next_attempt_at <= @now AND ${free}
       ORDER BY next_attempt_at, id LIMIT @limit`,
    )
    .raw(true);
  // From the start, skipping rows leased in memory (checked on the index, before the row is read).
  const fromStart = db
    .prepare(
      `SELECT ${columns} FROM outbox WHERE target = @target AND status = 'pending' AND next_attempt_at <= @now AND ${free}
         AND id NOT IN (SELECT value FROM json_each(@skip))
       ORDER BY next_attempt_at, id LIMIT @limit`,
    )
    .raw(true);
  const lockOf = db.prepare('SELECT holder, expires_at AS expiresAt FROM target_locks WHERE target = ?');
  const takeLock = db.prepare(`
    INSERT INTO target_locks (target, holder, expires_at, in_flight) VALUES (?, ?, ?, ?)
    ON CONFLICT (target) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, in_flight = excluded.in_flight`);
  const noteInFlight = db.prepare('UPDATE target_locks SET in_flight = ? WHERE target = ? AND holder = ?');
  const dropLock = db.prepare('DELETE FROM target_locks WHERE target = ? AND holder = ?');
  const leaseOnRows = db.prepare(
    "UPDATE outbox SET lease_token = ?, lease_worker = ?, lease_expires_at = ? WHERE id IN (SELECT value FROM json_each(?)) AND status = 'pending'",
  );
  const clearOnRows = db.prepare('UPDATE outbox SET lease_token = NULL, lease_worker = NULL, lease_expires_at = NULL WHERE id IN (SELECT value FROM json_each(?))');
  const rowLease = db.prepare('SELECT status, lease_token AS leaseToken, lease_worker AS leaseWorker FROM outbox WHERE id = ?');
  const insertAttempt = db.prepare(`
    INSERT INTO attempts (outbox_id, at, outcome, status_code, target_id, latency_ms, error, answer, worker)
    VALUES (@id, @at, @outcome, @statusCode, @targetId, @latencyMs, @error, @answer, @worker)`);
  // An ack is one statement: the row is settled, and the attempt written on it (schema step 3), only if it
  // is still pending — and, for a lease on the row, only under that lease. Positional parameters: this runs
  // once per delivered row.
  const delivered = db.prepare(`
    UPDATE outbox SET status = 'delivered', attempts = attempts + 1, last_error = NULL,
      delivered_at = ?, receipt_status = ?, receipt_target_id = ?, receipt_latency_ms = ?, receipt_answer = ?,
      receipt_worker = ?, receipt_inline = 1
    WHERE id = ? AND status = 'pending' AND lease_token IS NULL`);
  const deliveredOnRow = db.prepare(`
    UPDATE outbox SET status = 'delivered', attempts = attempts + 1, last_error = NULL,
      delivered_at = ?, receipt_status = ?, receipt_target_id = ?, receipt_latency_ms = ?, receipt_answer = ?,
      receipt_worker = lease_worker, receipt_inline = 1,
      lease_token = NULL, lease_worker = NULL, lease_expires_at = NULL
    WHERE id = ? AND status = 'pending' AND lease_token = ?
    RETURNING target`);
  // A counted failure starts the row's run of tries if none is running (first_try_at, for max age).
  const retry = db.prepare(`
    UPDATE outbox SET attempts = attempts + @counted, last_error = @error, next_attempt_at = @nextAttemptAt,
      first_try_at = COALESCE(first_try_at, CASE WHEN @counted = 1 THEN @at END),
      lease_token = NULL, lease_worker = NULL, lease_expires_at = NULL
    WHERE id = @id`);
  const dead = db.prepare(`
    UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = @reason,
      lease_token = NULL, lease_worker = NULL, lease_expires_at = NULL
    WHERE id = @id`);
  const insertDeadLetter = db.prepare(`
    INSERT INTO dead_letters (outbox_id, target, source, record_id, reason, code, status_code, answer, at)
    SELECT id, target, source, record_id, @reason, @code, @statusCode, @answer, @at FROM outbox WHERE id = @id
    RETURNING ${DEAD_LETTER_COLUMNS}`);

  const addCount = addCountStatement(db);

  const holds = new Map<string, Hold>();
  /** When this store last wrote a target's in-flight count (Date.now()): at most once a second, not once per ack batch. */
  const noted = new Map<string, number>();
  /** Rows handed out by this store and not settled, by row id. */
  const leased = new Map<number, Lease>();

  /** Inside the writer's transaction: takes or renews the target's lock; false when another store holds it. */
  function lock(target: string, now: number, leaseMs: number): boolean {
    const row = lockOf.get(target) as { holder: string; expiresAt: number } | undefined;
    const mine = row?.holder === self;
    if (row && !mine && row.expiresAt > now && !holderGone(row.holder, self)) return false;
    const expiresAt = Math.max(now + Math.ceil(leaseMs * LOCK_LEASES), mine ? row.expiresAt : 0);
    const hold = holds.get(target);
    const renewed = mine && hold !== undefined;
    // Written first: memory changes only once the write went through. In flight: the rows held so far (none
    // when taken afresh); the claim taking the lock writes the count again once it has leased its own.
    takeLock.run(target, self, expiresAt, renewed ? leasedOf(target) : 0);
    if (renewed) hold.expiresAt = expiresAt;
    else {
      // Taken afresh (or taken back after another store held it): nothing held in memory before counts.
      forget(target);
      holds.set(target, { expiresAt, cursor: undefined, fullScanAt: -Infinity });
    }
    return true;
  }

  /** Drops this store's hold of a target and every lease it kept in memory for it. */
  function forget(target: string): void {
    holds.delete(target);
    for (const [id, lease] of leased) if (lease.target === target) leased.delete(id);
  }

  /** Due rows, in claim order, for a store that holds the target's lock. Synchronous: nothing else runs between the reads and the leases. */
  function select(c: PreparedClaim, hold: Hold): ClaimedTuple[] {
    const params = { target: c.target, now: c.now, limit: c.limit, at: 0, id: 0, skip: '' };
    let out: ClaimedTuple[] = [];
    const cursor = hold.cursor;
    if (cursor !== undefined && c.now - hold.fullScanAt < FULL_SCAN_EVERY_MS) {
      params.at = cursor[0];
      params.id = cursor[1];
      if (cursor[0] <= c.now) out = sameInstant.all(params) as ClaimedTuple[];
      if (out.length < c.limit) {
        params.limit = c.limit - out.length;
        const rest = later.all(params) as ClaimedTuple[];
        out = out.length === 0 ? rest : out.concat(rest);
      }
      // Rows after the cursor were never handed out; a lease in memory there would be a bug, not a row to send twice.
      out = out.filter((t) => !leased.has(t[0]) || leased.get(t[0])!.expiresAt <= c.now);
      if (out.length === c.limit) return out;
    }
    hold.fullScanAt = c.now;
    const skip: number[] = [];
    for (const [id, lease] of leased) if (lease.target === c.target && lease.expiresAt > c.now) skip.push(id);
    for (const t of out) skip.push(t[0]);
    params.skip = JSON.stringify(skip);
    params.limit = c.limit - out.length;
    const rest = fromStart.all(params) as ClaimedTuple[];
    if (out.length === 0) return rest;
    // Rows from the cursor on, then older ones left behind it: handed out oldest due first all the same.
    return out.concat(rest).sort((a, b) => a[7] - b[7] || a[0] - b[0]);
  }

  function toDeliveries(c: PreparedClaim, tuples: readonly ClaimedTuple[], token: string, expiresAt: number, parse: boolean): ClaimedDelivery[] {
    return tuples.map((t) =>
      toClaimed(
        { id: t[0], target: c.target, source: t[1], recordId: t[2], body: t[3], attempts: t[4], replays: t[5], createdAt: t[6], nextAttemptAt: t[7], firstTryAt: t[9] },
        token,
        expiresAt,
        parse,
      ),
    );
  }

  /** The lock of `target` as this transaction sees it: still this store's? Read once per call (`cache`). */
  function stillHeld(target: string, cache: Map<string, boolean>): boolean {
    let held = cache.get(target);
    if (held === undefined) {
      held = (lockOf.get(target) as { holder: string } | undefined)?.holder === self;
      cache.set(target, held);
    }
    return held;
  }

  /**
   * Inside the writer's transaction: this store's lease in memory on row `id`, when `ref` is the one that holds
   * it and this store still holds the target's lock; undefined otherwise — then only a lease written on the row
   * can hold it: the one this store wrote there as it let the target go (the same token, so it still settles),
   * never one after another store took the target over (that store cleared it or never had it).
   */
  function memoryLease(ref: LeaseRef, id: number, cache: Map<string, boolean>): Lease | undefined {
    const lease = leased.get(id);
    if (lease === undefined || lease.token !== ref.leaseToken) return undefined;
    return stillHeld(lease.target, cache) ? lease : undefined;
  }

  /**
   * Inside the writer's transaction: who holds `ref`'s row, or why it cannot be settled. A lease in memory
   * holds it while this store holds the target's lock; otherwise the lease written on the row must match.
   */
  function holderOf(ref: LeaseRef, cache: Map<string, boolean>): { id: number; worker: string; inMemory: boolean } | Error {
    const id = rowNumber(ref.id);
    if (id === null) return new StoreNotFoundError('outbox row', ref.id);
    const lease = memoryLease(ref, id, cache);
    if (lease !== undefined) return { id, worker: lease.worker, inMemory: true };
    const row = rowLease.get(id) as { status: string; leaseToken: string | null; leaseWorker: string | null } | undefined;
    if (row === undefined) return new StoreNotFoundError('outbox row', ref.id);
    if (row.status !== 'pending' || row.leaseToken === null || row.leaseToken !== ref.leaseToken) return new LeaseLostError(ref.id);
    return { id, worker: row.leaseWorker ?? '', inMemory: false };
  }

  function refusal(ref: LeaseRef, id: number): Error {
    return rowLease.get(id) === undefined ? new StoreNotFoundError('outbox row', ref.id) : new LeaseLostError(ref.id);
  }

  /** Inside the writer's transaction: acks one row (its delivery tallied), or answers why not, having written nothing. */
  function ackOne(ref: LeaseRef, r: PreparedReceipt, cache: Map<string, boolean>, tally: Tally): AckResult {
    const id = rowNumber(ref.id);
    if (id === null) return new StoreNotFoundError('outbox row', ref.id);
    const lease = memoryLease(ref, id, cache);
    if (lease !== undefined) {
      // The common case, one statement: this store's own lease.
      if (delivered.run(r.at, r.statusCode, r.targetId, r.latencyMs, r.answer, lease.worker, id).changes === 0) return refusal(ref, id);
      tally.move(lease.target, 'pending', 'delivered');
      return null;
    }
    const row = deliveredOnRow.get(r.at, r.statusCode, r.targetId, r.latencyMs, r.answer, id, ref.leaseToken) as { target: string } | undefined;
    if (row === undefined) return refusal(ref, id);
    tally.move(row.target, 'pending', 'delivered');
    return null;
  }

  /** Inside the writer's transaction: checks the lease and logs the attempt, or throws and nothing is written. */
  function attempt(ref: LeaseRef, outcome: AttemptOutcome, a: PreparedAttempt, extra: { error?: string | null; targetId?: string | null }): number {
    const h = holderOf(ref, new Map());
    if (h instanceof Error) throw h;
    if (h.inMemory && (rowLease.get(h.id) as { status: string } | undefined)?.status !== 'pending') throw new LeaseLostError(ref.id);
    insertAttempt.run({ ...a, id: h.id, outcome, error: extra.error ?? null, targetId: extra.targetId ?? null, worker: h.worker });
    return h.id;
  }

  /** After a settling committed: the row is no longer leased in memory (only if the lease is still the one that settled it). */
  function settled(ref: LeaseRef): void {
    const id = Number(ref.id);
    if (leased.get(id)?.token === ref.leaseToken) leased.delete(id);
  }

  /** Rows of `target` leased in memory: what the lock row shows other processes as in flight. */
  function leasedOf(target: string): number {
    let n = 0;
    for (const lease of leased.values()) if (lease.target === target) n += 1;
    return n;
  }

  /**
   * Inside a write transaction: the leases kept in memory for the targets `which` picks are written onto
   * their rows, so another store honours them, and the locks of those targets are let go (releaseTarget,
   * and releaseAll at close). Answers how to forget them, to be called once the transaction committed: only
   * the leases and holds let go here, not those of a claim that took the target again since.
   */
  function letGo(which: (target: string) => boolean): () => void {
    const byToken = new Map<string, { worker: string; expiresAt: number; ids: number[] }>();
    const gone: [number, Lease][] = [];
    for (const [id, lease] of leased) {
      if (!which(lease.target)) continue;
      gone.push([id, lease]);
      let group = byToken.get(lease.token);
      if (group === undefined) byToken.set(lease.token, (group = { worker: lease.worker, expiresAt: lease.expiresAt, ids: [] }));
      group.ids.push(id);
    }
    for (const [token, g] of byToken) leaseOnRows.run(token, g.worker, g.expiresAt, JSON.stringify(g.ids));
    const dropped = [...holds].filter(([target]) => which(target));
    for (const [target] of dropped) dropLock.run(target, self);
    return () => {
      for (const [id, lease] of gone) if (leased.get(id) === lease) leased.delete(id);
      for (const [target, hold] of dropped) {
        if (holds.get(target) !== hold) continue;
        holds.delete(target);
        noted.delete(target);
      }
    };
  }

  /** Drops the leases `token` put in memory on `ids`, unless a later claim took a row over. */
  function unlease(ids: readonly number[], token: string): void {
    for (const id of ids) if (leased.get(id)?.token === token) leased.delete(id);
  }

  return {
    holder: self,

    async claim(options) {
      open();
      const c = prepareClaim(options);
      const handOver = options.handOver === true;
      let hold = holds.get(c.target);
      let locking = false;
      if (hold === undefined || hold.expiresAt - c.now < c.leaseMs) {
        locking = true;
        const held = await writer.run(() => lock(c.target, c.now, c.leaseMs));
        if (!held) {
          forget(c.target);
          return [];
        }
        hold = holds.get(c.target)!;
      }
      const tuples = select(c, hold);
      if (tuples.length === 0) return [];
      const token = randomUUID();
      const expiresAt = c.now + c.leaseMs;
      const last = tuples[tuples.length - 1]!;
      if (hold.cursor === undefined || last[7] > hold.cursor[0] || (last[7] === hold.cursor[0] && last[0] > hold.cursor[1])) hold.cursor = [last[7], last[0]];
      const ids = tuples.map((t) => t[0]);
      // Leased in memory at once, so no claim of ours hands these rows out while a write below is queued.
      for (const id of ids) leased.set(id, { target: c.target, token, worker: c.worker, expiresAt });
      if (handOver) {
        // Leased on the rows, for workers on other connections; no longer in memory once written.
        try {
          await writer.run(() => leaseOnRows.run(token, c.worker, expiresAt, JSON.stringify(ids)));
        } finally {
          unlease(ids, token);
        }
      } else {
        // A row may still carry the lease of a hand-over claim that expired: cleared, so its old holder's late
        // settling is refused.
        const stale = tuples.filter((t) => t[8] !== null).map((t) => t[0]);
        if (stale.length > 0) {
          try {
            await writer.run(() => clearOnRows.run(JSON.stringify(stale)));
          } catch (error) {
            unlease(ids, token);
            throw error;
          }
        }
        // The lock was just taken or renewed (every half lease): its row shows other processes the rows now in
        // flight, these included, rather than the count from before this claim until the next ack batch.
        // Advisory: a failure here leaves the older count, and the rows are handed out all the same.
        if (locking) await writer.run(() => noteInFlight.run(leasedOf(c.target), c.target, self)).catch(() => undefined);
      }
      return toDeliveries(c, tuples, token, expiresAt, options.bodyJsonOnly !== true);
    },

    async ack(ref, receipt) {
      open();
      const lease = prepareLease(ref);
      const r = prepareReceipt(receipt);
      const error = await writer.run(() => {
        const tally = new Tally();
        const result = ackOne(lease, r, new Map(), tally);
        tally.write(addCount);
        return result;
      });
      if (error) throw error;
      settled(lease);
    },

    async ackMany(acks) {
      open();
      const prepared = prepareAcks(acks);
      if (prepared.length === 0) return [];
      // One job: one savepoint in the group commit's transaction, whatever the number of rows. The lock of
      // each target is read once; the lock row notes how many rows are in flight, for other processes' stats,
      // at most once a second (one page less to write per batch).
      const results = await writer.run(() => {
        const cache = new Map<string, boolean>();
        const tally = new Tally();
        const out = prepared.map((a) => ackOne(a.lease, a.receipt, cache, tally));
        tally.write(addCount);
        const wall = Date.now();
        for (const [target, held] of cache) {
          if (!held || wall - (noted.get(target) ?? -Infinity) < IN_FLIGHT_NOTE_MS) continue;
          // Rows this batch acknowledged are still in memory until the commit: not counted.
          let n = leasedOf(target);
          for (let i = 0; i < out.length; i++) {
            const lease = out[i] === null ? leased.get(Number(prepared[i]!.lease.id)) : undefined;
            if (lease !== undefined && lease.target === target && lease.token === prepared[i]!.lease.leaseToken) n -= 1;
          }
          noteInFlight.run(n, target, self);
          noted.set(target, wall);
        }
        return out;
      });
      for (let i = 0; i < results.length; i++) if (results[i] === null) settled(prepared[i]!.lease);
      return results;
    },

    async retryLater(ref, report) {
      open();
      const lease = prepareLease(ref);
      const r = prepareRetry(report);
      await writer.run(() => {
        const id = attempt(lease, 'retry', r, { error: r.error });
        retry.run({ id, error: r.error, nextAttemptAt: r.nextAttemptAt, counted: r.counted, at: r.at });
      });
      settled(lease);
    },

    async deadLetter(ref, report) {
      open();
      const lease = prepareLease(ref);
      const r = prepareDeadLetter(report);
      const row = await writer.run(() => {
        const id = attempt(lease, 'dead', r, { error: r.reason });
        dead.run({ id, reason: r.reason });
        const letter = insertDeadLetter.get({ id, reason: r.reason, code: r.code, statusCode: r.statusCode, answer: r.answer, at: r.at }) as DeadLetterRow;
        new Tally().move(letter.target, 'pending', 'dead').write(addCount);
        return letter;
      });
      settled(lease);
      return toDeadLetter(row);
    },

    async heldElsewhere(target, now) {
      open();
      const at = now.getTime();
      const row = lockOf.get(target) as { holder: string; expiresAt: number } | undefined;
      if (row === undefined || row.holder === self || row.expiresAt <= at || holderGone(row.holder, self)) return undefined;
      return { holder: row.holder, until: new Date(row.expiresAt) };
    },

    leasedInMemory(now) {
      const counts = new Map<string, number>();
      for (const lease of leased.values()) if (lease.expiresAt > now) counts.set(lease.target, (counts.get(lease.target) ?? 0) + 1);
      return counts;
    },

    async releaseTarget(target) {
      open();
      if (!holds.has(target) && ![...leased.values()].some((lease) => lease.target === target)) return;
      const forgetReleased = await writer.run(() => letGo((t) => t === target));
      forgetReleased();
    },

    releaseAll() {
      if (holds.size === 0 && leased.size === 0) return;
      db.transaction(() => letGo(() => true)).immediate()();
    },
  };
}
