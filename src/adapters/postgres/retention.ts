/**
 * Retention in PostgreSQL: listing what is old enough to prune, oldest first, and pruning it in one
 * transaction. Listings are served by the indexes on received_at (schema step 2). A prune locks the named
 * records and their outbox rows first and checks eligibility on what it locked, so a replay committed
 * meanwhile (the row is pending again) keeps its record; claims never wait on it, since they only take
 * pending rows and skip locked ones.
 */
import { emptyPruneResult, preparePrunableFilter, preparePrune, toOldestFirstPage } from '../../ports/retention-input.js';
import { toDeadLetter, toRecord, toRejection, withHeldDeliveries } from '../../ports/store-rows.js';
import type { AttemptRow, DeadLetterRow, OutboxRow, RecordRow, RejectionRow } from '../../ports/store-rows.js';
import type { PrunableRecord, RetentionStore } from '../../ports/retention-store.js';
import { ATTEMPT_COLUMNS, DEAD_LETTER_COLUMNS, HELD_DELIVERY_COLUMNS, HELD_ORDER, OUTBOX_COLUMNS, RECORD_COLUMNS } from './columns.js';
import type { PgContext } from './context.js';

export function pgRetention({ t, writer, read, snapshot, open }: PgContext): RetentionStore {
  // $1 from, $2 to, $3/$4 after (receivedAt, seq), $5 limit, $6 the cutoff for deliveries.
  const prunable = `
    SELECT ${RECORD_COLUMNS} FROM ${t.records} r
    WHERE r.received_at >= $1 AND r.received_at < $2 AND (r.received_at, r.seq) > ($3::bigint, $4::bigint)
      AND NOT EXISTS (SELECT 1 FROM ${t.outbox} o WHERE o.record_seq = r.seq AND (o.status <> 'delivered' OR o.delivered_at >= $6))
    ORDER BY r.received_at, r.seq LIMIT $5`;
  const outboxOf = `SELECT ${OUTBOX_COLUMNS} FROM ${t.outbox} WHERE record_seq = ANY($1::bigint[]) ORDER BY id`;
  const attemptsOf = `SELECT ${ATTEMPT_COLUMNS} FROM ${t.attempts} WHERE outbox_id = ANY($1::bigint[]) ORDER BY id`;
  const heldOf = `SELECT ${HELD_DELIVERY_COLUMNS} FROM ${t.outbox} WHERE id = ANY($1::bigint[]) AND receipt_inline ORDER BY ${HELD_ORDER}`;
  const deadLettersOf = `SELECT ${DEAD_LETTER_COLUMNS} FROM ${t.deadLetters} WHERE outbox_id = ANY($1::bigint[]) ORDER BY id`;
  const rejections = `
    SELECT seq, source, record_id AS id, type, errors, ruleset_version AS "rulesetVersion", received_at AS "receivedAt", payload
    FROM ${t.rejections}
    WHERE received_at >= $1 AND received_at < $2 AND (received_at, seq) > ($3::bigint, $4::bigint)
    ORDER BY received_at, seq LIMIT $5`;

  const lockRecords = `
    SELECT r.seq, r.received_at AS "receivedAt" FROM ${t.records} r
    JOIN unnest($1::text[], $2::text[]) AS k(source, id) ON r.source = k.source AND r.id = k.id
    FOR UPDATE OF r`;
  const lockOutbox = `SELECT id, record_seq AS "recordSeq", status, delivered_at AS "deliveredAt" FROM ${t.outbox} WHERE record_seq = ANY($1::bigint[]) FOR UPDATE`;
  // Each answers how many rows it deleted; what stats() counts is taken off its counts (stats.ts) in the same statement.
  const counted = (sql: string, returning = '1', delta?: string) =>
    `WITH gone AS (${sql} RETURNING ${returning})${delta ? `, uncounted AS (INSERT INTO ${t.statDeltas} (kind, a, b, n) ${delta})` : ''} SELECT count(*)::int AS n FROM gone`;
  const deleteAttempts = counted(`DELETE FROM ${t.attempts} WHERE outbox_id = ANY($1::bigint[])`);
  // Deliveries held on the outbox row (schema step 4) are attempts too, and go with the row.
  const heldAttempts = `SELECT count(*)::int AS n FROM ${t.outbox} WHERE id = ANY($1::bigint[]) AND receipt_inline`;
  const deleteDeadLetters = counted(`DELETE FROM ${t.deadLetters} WHERE outbox_id = ANY($1::bigint[])`);
  const deleteOutbox = counted(
    `DELETE FROM ${t.outbox} WHERE id = ANY($1::bigint[])`,
    'target, status',
    "SELECT 'outbox', target, status, -count(*) FROM gone WHERE status <> 'pending' GROUP BY target, status",
  );
  const deleteRecords = counted(`DELETE FROM ${t.records} WHERE seq = ANY($1::bigint[])`, 'verdict', "SELECT 'records', verdict, '', -count(*) FROM gone GROUP BY verdict");
  const deleteRejections = counted(`DELETE FROM ${t.rejections} WHERE seq = ANY($1::bigint[]) AND received_at < $2`, '1', "SELECT 'rejections', '', '', -count(*) FROM gone HAVING count(*) > 0");

  return {
    async listPrunable(filter) {
      open();
      const f = preparePrunableFilter(filter);
      const rows = await snapshot(async (query) => {
        const records = await query<RecordRow>(prunable, [f.from, f.to, f.afterAt, f.afterSeq, f.limit + 1, f.before], 'blh_prunable');
        if (records.length === 0) return [];
        const outbox = await query<OutboxRow>(outboxOf, [records.map((r) => r.seq)], 'blh_prunable_outbox');
        const ids = outbox.map((o) => o.id);
        const attempts = await query<AttemptRow>(attemptsOf, [ids], 'blh_prunable_attempts');
        const held = await query<AttemptRow>(heldOf, [ids], 'blh_prunable_held');
        const deadLetters = await query<DeadLetterRow>(deadLettersOf, [ids], 'blh_prunable_dead_letters');
        return records.map((row) => {
          const own = outbox.filter((o) => o.recordSeq === row.seq);
          const mine = new Set(own.map((o) => o.id));
          const record: PrunableRecord = {
            ...toRecord(row, own, withHeldDeliveries(attempts.filter((a) => mine.has(a.outboxId)), held.filter((a) => mine.has(a.outboxId)))),
            deadLetters: deadLetters.filter((d) => mine.has(d.outboxId)).map(toDeadLetter),
          };
          return { seq: row.seq, record };
        });
      });
      const page = toOldestFirstPage(rows, f.limit, (r) => ({ at: r.record.receivedAt.getTime(), seq: r.seq }));
      return { items: page.items.map((r) => r.record), nextCursor: page.nextCursor };
    },

    async listPrunableRejections(filter) {
      open();
      const f = preparePrunableFilter(filter);
      const rows = await read<RejectionRow>(rejections, [f.from, f.to, f.afterAt, f.afterSeq, f.limit + 1], 'blh_prunable_rejections');
      return toOldestFirstPage(rows.map(toRejection), f.limit, (r) => ({ at: r.receivedAt.getTime(), seq: r.seq }));
    },

    async prune(request) {
      open();
      const p = preparePrune(request);
      return writer.run(async (query) => {
        const result = emptyPruneResult();
        result.kept = p.unknown;
        const n = async (sql: string, values: unknown[], name: string) => (await query<{ n: number }>(sql, values, name))[0].n;
        if (p.records.length > 0) {
          const records = await query<{ seq: number; receivedAt: number }>(lockRecords, [p.records.map((r) => r.source), p.records.map((r) => r.id)], 'blh_prune_lock_records');
          const rows = records.length === 0 ? [] : await query<Pick<OutboxRow, 'id' | 'recordSeq' | 'status' | 'deliveredAt'>>(lockOutbox, [records.map((r) => r.seq)], 'blh_prune_lock_outbox');
          const unsettled = new Set(rows.filter((o) => o.status !== 'delivered' || o.deliveredAt === null || o.deliveredAt >= p.before).map((o) => o.recordSeq));
          const doomed = new Set(records.filter((r) => r.receivedAt < p.before && !unsettled.has(r.seq)).map((r) => r.seq));
          result.kept += p.records.length - doomed.size;
          if (doomed.size > 0) {
            const ids = rows.filter((o) => doomed.has(o.recordSeq)).map((o) => o.id);
            result.attempts = (await n(heldAttempts, [ids], 'blh_prune_held')) + (await n(deleteAttempts, [ids], 'blh_prune_attempts'));
            result.deadLetters = await n(deleteDeadLetters, [ids], 'blh_prune_dead_letters');
            result.outbox = await n(deleteOutbox, [ids], 'blh_prune_outbox');
            result.records = await n(deleteRecords, [[...doomed]], 'blh_prune_records');
          }
        }
        if (p.rejections.length > 0) {
          result.rejections = await n(deleteRejections, [p.rejections, p.before], 'blh_prune_rejections');
          result.kept += p.rejections.length - result.rejections;
        }
        return result;
      });
    },
  };
}
