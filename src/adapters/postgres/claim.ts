/**
 * Claims and settling. A claim picks due rows with SELECT ... FOR UPDATE SKIP LOCKED and leases them in
 * the same statement: two claimers, in one process or in many, never wait for each other and never get
 * the same row — rows another transaction is leasing right now are skipped, and a row re-read after a
 * concurrent lease committed fails the lease condition. Settling is one statement too: it locks the row
 * only if the token is its current one and logs the attempt with the lease's worker — on the row itself for
 * a confirmed delivery (schema step 4), as a row of attempts for a retry or a dead letter.
 */
import { randomUUID } from 'node:crypto';
import { LeaseLostError, StoreNotFoundError } from '../../ports/errors.js';
import { prepareAcks, prepareClaim, prepareDeadLetter, prepareLease, prepareReceipt, prepareRetry } from '../../ports/outbox-input.js';
import type { PreparedAttempt, PreparedReceipt } from '../../ports/outbox-input.js';
import { rowNumber } from '../../ports/store-input.js';
import { oldestDueFirst, toClaimed, toDeadLetter } from '../../ports/store-rows.js';
import type { ClaimedRow, DeadLetterRow } from '../../ports/store-rows.js';
import type { AckResult, LeaseRef, OutboxStore } from '../../ports/store.js';
import { DEAD_LETTER_COLUMNS } from './columns.js';
import type { PgContext } from './context.js';
import type { Query } from './group-commit.js';

export function pgClaims({ t, writer, open }: PgContext): Pick<OutboxStore, 'claim' | 'ack' | 'ackMany' | 'retryLater' | 'deadLetter'> {
  // status = 'pending' is spelled out so the partial index outbox_claim serves the inner SELECT.
  const claim = `
    WITH due AS (
      SELECT id FROM ${t.outbox}
      WHERE target = $1 AND status = 'pending' AND next_attempt_at <= $2
        AND (lease_expires_at IS NULL OR lease_expires_at <= $2)
      ORDER BY next_attempt_at, id
      LIMIT $3
      FOR UPDATE SKIP LOCKED)
    UPDATE ${t.outbox} o SET lease_token = $4, lease_worker = $5, lease_expires_at = $6
    FROM due WHERE o.id = due.id
    RETURNING o.id, o.target, o.source, o.record_id AS "recordId", o.body, o.attempts, o.replays,
      o.created_at AS "createdAt", o.next_attempt_at AS "nextAttemptAt", o.first_try_at AS "firstTryAt"`;

  /**
   * The row, locked, if `$1`/`$2` name it and its current lease; `settle` is the UPDATE of that row
   * (its own parameters from $3), and the attempt is logged with the lease's worker. `then` follows the
   * attempt (a dead letter); without it the statement answers the row's id.
   */
  const settling = (settle: string, then?: string) => `
    WITH held AS (
      SELECT id, lease_worker FROM ${t.outbox}
      WHERE id = $1 AND status = 'pending' AND lease_token = $2
      FOR UPDATE
    ), settled AS (
      UPDATE ${t.outbox} o SET ${settle}, lease_token = NULL, lease_worker = NULL, lease_expires_at = NULL
      FROM held WHERE o.id = held.id
      RETURNING o.id, o.target, o.source, o.record_id, held.lease_worker
    ), attempt AS (
      INSERT INTO ${t.attempts} (outbox_id, at, outcome, status_code, target_id, latency_ms, error, answer, worker)
      SELECT id, $3::bigint, $4::text, $5::integer, $6::text, $7::double precision, $8::text, $9::text, lease_worker FROM settled
      RETURNING outbox_id
    )
    ${then ?? 'SELECT outbox_id AS id FROM attempt'}`;

  // $3 at, $4 outcome, $5 status code, $6 target id, $7 latency, $8 error, $9 answer: the attempt; then each its own.
  // A counted failure starts the row's run of tries if none is running (first_try_at, for max age).
  const retry = settling(
    'attempts = o.attempts + $10::integer, last_error = $8::text, next_attempt_at = $11::bigint, first_try_at = COALESCE(o.first_try_at, CASE WHEN $10::integer = 1 THEN $3::bigint END)',
  );
  const dead = settling(
    `status = 'dead', attempts = o.attempts + 1, last_error = $8::text`,
    `, counted AS (
       INSERT INTO ${t.statDeltas} (kind, a, b, n) SELECT 'outbox', target, 'dead', 1 FROM settled
     )
     INSERT INTO ${t.deadLetters} (outbox_id, target, source, record_id, reason, code, status_code, answer, at)
     SELECT id, target, source, record_id, $8::text, $10::text, $5::integer, $9::text, $3::bigint FROM settled
     RETURNING ${DEAD_LETTER_COLUMNS}`,
  );
  const exists = `SELECT 1 FROM ${t.outbox} WHERE id = $1`;

  /**
   * Acks in one statement (`ack` is one of them): the lock and lease check of `settling`, and the update that
   * writes the delivery on the row (schema step 4: no row of attempts), for every input row at once (ids must
   * be distinct). Answers the ids it acked.
   */
  const deliveredMany = `
    WITH input AS (
      SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::integer[], $5::text[], $6::double precision[], $7::text[])
        AS i (id, token, at, status_code, target_id, latency_ms, answer)
    ), held AS (
      SELECT o.id, o.lease_worker, i.at, i.status_code, i.target_id, i.latency_ms, i.answer
      FROM ${t.outbox} o JOIN input i ON o.id = i.id
      WHERE o.status = 'pending' AND o.lease_token = i.token
      FOR UPDATE OF o
    ), settled AS (
      UPDATE ${t.outbox} o SET status = 'delivered', attempts = o.attempts + 1, last_error = NULL,
        lease_token = NULL, lease_worker = NULL, lease_expires_at = NULL,
        delivered_at = held.at, receipt_status = held.status_code, receipt_target_id = held.target_id,
        receipt_latency_ms = held.latency_ms, receipt_answer = held.answer, receipt_worker = held.lease_worker, receipt_inline = true
      FROM held WHERE o.id = held.id
      RETURNING o.id, o.target
    ), counted AS (
      INSERT INTO ${t.statDeltas} (kind, a, b, n) SELECT 'outbox', target, 'delivered', count(*) FROM settled GROUP BY target
    )
    SELECT id FROM settled`;
  const existing = `SELECT id FROM ${t.outbox} WHERE id = ANY($1::bigint[])`;

  /**
   * One round of ackMany: entries with distinct row ids. Answers one result per entry; writes only the
   * entries whose lease is held.
   */
  async function ackRound(query: Query, entries: { lease: LeaseRef; id: number; receipt: PreparedReceipt }[]): Promise<AckResult[]> {
    const cols: unknown[][] = [[], [], [], [], [], [], []];
    for (const { lease, id, receipt: r } of entries) {
      cols[0]!.push(id);
      cols[1]!.push(lease.leaseToken);
      cols[2]!.push(r.at);
      cols[3]!.push(r.statusCode);
      cols[4]!.push(r.targetId);
      cols[5]!.push(r.latencyMs);
      cols[6]!.push(r.answer);
    }
    const acked = new Set((await query<{ id: number }>(deliveredMany, cols, 'blh_ack_many')).map((r) => Number(r.id)));
    const missed = entries.filter((e) => !acked.has(e.id)).map((e) => e.id);
    const found = missed.length === 0 ? new Set<number>() : new Set((await query<{ id: number }>(existing, [missed], 'blh_outbox_existing')).map((r) => Number(r.id)));
    return entries.map((e) => (acked.has(e.id) ? null : found.has(e.id) ? new LeaseLostError(e.lease.id) : new StoreNotFoundError('outbox row', e.lease.id)));
  }

  /** Runs a settling statement; when it changed nothing, says why — having written nothing. */
  async function settle<R>(query: Query, ref: LeaseRef, sql: string, name: string, a: PreparedAttempt, extra: { outcome: string; targetId?: string | null; error?: string | null; more?: unknown[] }): Promise<R> {
    const id = rowNumber(ref.id);
    if (id === null) throw new StoreNotFoundError('outbox row', ref.id);
    const params = [id, ref.leaseToken, a.at, extra.outcome, a.statusCode, extra.targetId ?? null, a.latencyMs, extra.error ?? null, a.answer, ...(extra.more ?? [])];
    const [row] = await query<R>(sql, params, name);
    if (row) return row;
    if ((await query(exists, [id], 'blh_outbox_exists')).length === 0) throw new StoreNotFoundError('outbox row', ref.id);
    throw new LeaseLostError(ref.id);
  }

  return {
    async claim(options) {
      open();
      const c = prepareClaim(options);
      const leaseToken = randomUUID();
      const leaseExpiresAt = c.now + c.leaseMs;
      const rows = await writer.run((query) => query<ClaimedRow>(claim, [c.target, c.now, c.limit, leaseToken, c.worker, leaseExpiresAt], 'blh_claim'));
      // RETURNING does not keep the subquery's order.
      rows.sort(oldestDueFirst);
      return rows.map((row) => toClaimed(row, leaseToken, leaseExpiresAt));
    },

    async ack(ref, receipt) {
      open();
      const lease = prepareLease(ref);
      const r = prepareReceipt(receipt);
      const id = rowNumber(lease.id);
      if (id === null) throw new StoreNotFoundError('outbox row', lease.id);
      const [error] = await writer.run((query) => ackRound(query, [{ lease, id, receipt: r }]));
      if (error) throw error;
    },

    async ackMany(acks) {
      open();
      const prepared = prepareAcks(acks);
      if (prepared.length === 0) return [];
      return writer.run(async (query) => {
        const results: AckResult[] = new Array(prepared.length).fill(null);
        // Entries are settled in order, as one ack after another would be: a row named twice goes in a
        // later round, so its second ack finds the first one's outcome (a lease no longer held).
        let rest = prepared.map((p, index) => ({ ...p, index, id: rowNumber(p.lease.id) }));
        while (rest.length > 0) {
          const round: { lease: LeaseRef; id: number; receipt: PreparedReceipt; index: number }[] = [];
          const later: typeof rest = [];
          const seen = new Set<number>();
          for (const e of rest) {
            if (e.id === null) results[e.index] = new StoreNotFoundError('outbox row', e.lease.id);
            else if (seen.has(e.id)) later.push(e);
            else {
              seen.add(e.id);
              round.push({ ...e, id: e.id });
            }
          }
          const answers = round.length === 0 ? [] : await ackRound(query, round);
          round.forEach((e, i) => (results[e.index] = answers[i]!));
          rest = later;
        }
        return results;
      });
    },

    async retryLater(ref, report) {
      open();
      const lease = prepareLease(ref);
      const r = prepareRetry(report);
      await writer.run((query) => settle(query, lease, retry, 'blh_retry', r, { outcome: 'retry', error: r.error, more: [r.counted, r.nextAttemptAt] }));
    },

    async deadLetter(ref, report) {
      open();
      const lease = prepareLease(ref);
      const r = prepareDeadLetter(report);
      const row = await writer.run((query) => settle<DeadLetterRow>(query, lease, dead, 'blh_dead', r, { outcome: 'dead', error: r.reason, more: [r.code] }));
      return toDeadLetter(row);
    },
  };
}
