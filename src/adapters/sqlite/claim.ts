/**
 * Claims and settling. A claim selects the due rows and leases exactly those in one IMMEDIATE transaction,
 * which holds the file's write lock from its start, so two claimers (connections or processes) can never both
 * take a row. Settling checks the lease token in the same transaction that writes the attempt.
 */
import { randomUUID } from 'node:crypto';
import { LeaseLostError, StoreNotFoundError } from '../../ports/errors.js';
import { prepareAcks, prepareClaim, prepareDeadLetter, prepareLease, prepareReceipt, prepareRetry } from '../../ports/outbox-input.js';
import type { PreparedAttempt, PreparedReceipt } from '../../ports/outbox-input.js';
import { rowNumber } from '../../ports/store-input.js';
import { toClaimed, toDeadLetter } from '../../ports/store-rows.js';
import type { DeadLetterRow, OutboxRow } from '../../ports/store-rows.js';
import type { AckResult, AttemptOutcome, LeaseRef, OutboxStore } from '../../ports/store.js';
import { DEAD_LETTER_COLUMNS } from './columns.js';
import type { SqliteContext } from './context.js';

/** A claimed row as the claim's SELECT returns it (raw mode): id, source, record_id, body, attempts, replays, created_at, next_attempt_at. */
type ClaimedTuple = [number, string, string, string, number, number, number, number];

export function sqliteClaims({ db, writer, open }: SqliteContext): Pick<OutboxStore, 'claim' | 'ack' | 'ackMany' | 'retryLater' | 'deadLetter'> {
  // A claim is a SELECT of the due rows, oldest due first, and an UPDATE that leases exactly those, in one
  // IMMEDIATE transaction (every job of the group commit runs in one): no other connection can write between
  // the two, so no two claimers ever take a row. (One UPDATE ... RETURNING did the same, but SQLite copies
  // every returned row through a temporary table first: 1.5–3 µs more per row in a micro-benchmark.) Rows come
  // back as arrays (raw mode) and without the target the caller named: this runs for every row sent.
  // status = 'pending' is spelled out so the partial index outbox_claim serves the SELECT.
  const due = db
    .prepare(
      `
    SELECT id, source, record_id, body, attempts, replays, created_at, next_attempt_at FROM outbox
    WHERE target = ? AND status = 'pending' AND next_attempt_at <= ?
      AND (lease_expires_at IS NULL OR lease_expires_at <= ?)
    ORDER BY next_attempt_at, id
    LIMIT ?`,
    )
    .raw(true);
  const lease = db.prepare('UPDATE outbox SET lease_token = ?, lease_worker = ?, lease_expires_at = ? WHERE id IN (SELECT value FROM json_each(?))');
  const holder = db.prepare('SELECT status, lease_token AS leaseToken, lease_worker AS leaseWorker FROM outbox WHERE id = ?');
  const insertAttempt = db.prepare(`
    INSERT INTO attempts (outbox_id, at, outcome, status_code, target_id, latency_ms, error, answer, worker)
    VALUES (@id, @at, @outcome, @statusCode, @targetId, @latencyMs, @error, @answer, @worker)`);
  // An ack is one statement: the row is settled, and the attempt written on it (schema step 3), only if it
  // is pending under this lease, so a lost lease writes nothing. SET reads the row as it was, so the
  // receipt's worker is the lease's. Positional parameters: this runs once per delivered row.
  const delivered = db.prepare(`
    UPDATE outbox SET status = 'delivered', attempts = attempts + 1, last_error = NULL,
      delivered_at = ?, receipt_status = ?, receipt_target_id = ?, receipt_latency_ms = ?, receipt_answer = ?,
      receipt_worker = lease_worker, receipt_inline = 1,
      lease_token = NULL, lease_worker = NULL, lease_expires_at = NULL
    WHERE id = ? AND status = 'pending' AND lease_token = ?`);
  const retry = db.prepare(`
    UPDATE outbox SET attempts = attempts + @counted, last_error = @error, next_attempt_at = @nextAttemptAt,
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

  /** Runs inside the writer's transaction: checks the lease and logs the attempt, or throws and nothing is written. */
  function attempt(ref: LeaseRef, outcome: AttemptOutcome, a: PreparedAttempt, extra: { error?: string | null; targetId?: string | null }): number {
    const id = rowNumber(ref.id);
    const row = id === null ? undefined : (holder.get(id) as Pick<OutboxRow, 'status' | 'leaseToken' | 'leaseWorker'> | undefined);
    if (id === null || !row) throw new StoreNotFoundError('outbox row', ref.id);
    if (row.status !== 'pending' || row.leaseToken !== ref.leaseToken) throw new LeaseLostError(ref.id);
    insertAttempt.run({ ...a, id, outcome, error: extra.error ?? null, targetId: extra.targetId ?? null, worker: row.leaseWorker });
    return id;
  }

  /** Runs inside the writer's transaction: acks one row, or answers why not, having written nothing. */
  function ackOne(ref: LeaseRef, r: PreparedReceipt): AckResult {
    const id = rowNumber(ref.id);
    if (id === null) return new StoreNotFoundError('outbox row', ref.id);
    if (delivered.run(r.at, r.statusCode, r.targetId, r.latencyMs, r.answer, id, ref.leaseToken).changes === 0) {
      return holder.get(id) === undefined ? new StoreNotFoundError('outbox row', ref.id) : new LeaseLostError(ref.id);
    }
    return null;
  }

  return {
    async claim(options) {
      open();
      const c = prepareClaim(options);
      const leaseToken = randomUUID();
      const leaseExpiresAt = c.now + c.leaseMs;
      const raw = await writer.run(() => {
        const tuples = due.all(c.target, c.now, c.now, c.limit) as ClaimedTuple[];
        if (tuples.length === 0) return tuples;
        const leased = lease.run(leaseToken, c.worker, leaseExpiresAt, JSON.stringify(tuples.map((t) => t[0]))).changes;
        // Cannot differ inside the transaction; if it ever did, the throw rolls the claim back whole.
        if (leased !== tuples.length) throw new Error(`claim: leased ${leased} rows of the ${tuples.length} selected`);
        return tuples;
      });
      // In the order claims hand rows out: the longest due first, then the oldest row (the SELECT's order).
      return raw.map((t) =>
        toClaimed(
          { id: t[0], target: c.target, source: t[1], recordId: t[2], body: t[3], attempts: t[4], replays: t[5], createdAt: t[6], nextAttemptAt: t[7] },
          leaseToken,
          leaseExpiresAt,
        ),
      );
    },

    async ack(ref, receipt) {
      open();
      const lease = prepareLease(ref);
      const r = prepareReceipt(receipt);
      const error = await writer.run(() => ackOne(lease, r));
      if (error) throw error;
    },

    async ackMany(acks) {
      open();
      const prepared = prepareAcks(acks);
      if (prepared.length === 0) return [];
      // One job: one savepoint in the group commit's transaction, whatever the number of rows.
      return writer.run(() => prepared.map((a) => ackOne(a.lease, a.receipt)));
    },

    async retryLater(ref, report) {
      open();
      const lease = prepareLease(ref);
      const r = prepareRetry(report);
      await writer.run(() => {
        const id = attempt(lease, 'retry', r, { error: r.error });
        retry.run({ id, error: r.error, nextAttemptAt: r.nextAttemptAt, counted: r.counted });
      });
    },

    async deadLetter(ref, report) {
      open();
      const lease = prepareLease(ref);
      const r = prepareDeadLetter(report);
      const row = await writer.run(() => {
        const id = attempt(lease, 'dead', r, { error: r.reason });
        dead.run({ id, reason: r.reason });
        return insertDeadLetter.get({ id, reason: r.reason, code: r.code, statusCode: r.statusCode, answer: r.answer, at: r.at }) as DeadLetterRow;
      });
      return toDeadLetter(row);
    },
  };
}
