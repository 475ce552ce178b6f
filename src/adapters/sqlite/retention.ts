/**
 * Retention in SQLite: listing what is old enough to prune, oldest first, and pruning it. Listings are
 * served by the indexes on received_at (schema step 2); a prune is one job of the group commit, so it is
 * one transaction that no other write interleaves with, and eligibility is checked again inside it.
 */
import { emptyPruneResult, preparePrunableFilter, preparePrune, toOldestFirstPage } from '../../ports/retention-input.js';
import { toDeadLetter, toRecord, toRejection } from '../../ports/store-rows.js';
import type { DeadLetterRow, OutboxRow, RecordRow, RejectionRow } from '../../ports/store-rows.js';
import type { PrunableRecord, RetentionStore } from '../../ports/retention-store.js';
import { recordAttempts } from './attempt-rows.js';
import { DEAD_LETTER_COLUMNS, OUTBOX_COLUMNS } from './columns.js';
import type { SqliteContext } from './context.js';
import { addCountStatement, Tally } from './counts.js';

export function sqliteRetention({ db, writer, open }: SqliteContext): RetentionStore {
  // A record is prunable when no row of it is still owed (pending), waiting for an operator (dead,
  // discarded) or was delivered at or after the cutoff.
  const prunable = db.prepare(`
    SELECT seq, source, id, type, subject, payload, payload_hash AS payloadHash, verdict, code, message,
           ruleset_version AS rulesetVersion, received_at AS receivedAt
    FROM records r
    WHERE r.received_at >= @from AND r.received_at < @to AND (r.received_at, r.seq) > (@afterAt, @afterSeq)
      AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.record_seq = r.seq AND (o.status <> 'delivered' OR o.delivered_at >= @before))
    ORDER BY r.received_at, r.seq LIMIT @limit`);
  const outboxOf = db.prepare(`SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE record_seq = ? ORDER BY id`);
  const attemptsOf = recordAttempts(db);
  const deadLettersOf = db.prepare(`
    SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE outbox_id IN (SELECT id FROM outbox WHERE record_seq = ?) ORDER BY id`);
  const rejections = db.prepare(`
    SELECT seq, source, record_id AS id, type, errors, ruleset_version AS rulesetVersion, received_at AS receivedAt, payload
    FROM rejections
    WHERE received_at >= @from AND received_at < @to AND (received_at, seq) > (@afterAt, @afterSeq)
    ORDER BY received_at, seq LIMIT @limit`);

  const recordByKey = db.prepare('SELECT seq, received_at AS receivedAt, verdict FROM records WHERE source = ? AND id = ?');
  const addCount = addCountStatement(db);
  const unsettled = db.prepare("SELECT count(*) FROM outbox WHERE record_seq = ? AND (status <> 'delivered' OR delivered_at >= ?)").pluck();
  const deleteAttempts = db.prepare('DELETE FROM attempts WHERE outbox_id IN (SELECT id FROM outbox WHERE record_seq = ?)');
  // Deliveries held on the outbox row (schema step 3) are attempts too, and go with the row.
  const inlineAttempts = db.prepare('SELECT count(*) FROM outbox WHERE record_seq = ? AND receipt_inline = 1').pluck();
  const deleteDeadLetters = db.prepare('DELETE FROM dead_letters WHERE outbox_id IN (SELECT id FROM outbox WHERE record_seq = ?)');
  // What a prune removes is taken off the counts stats() reads (counts.ts): the rows answer their target and status.
  const deleteOutbox = db.prepare('DELETE FROM outbox WHERE record_seq = ? RETURNING target, status');
  const deleteRecord = db.prepare('DELETE FROM records WHERE seq = ?');
  const deleteRejection = db.prepare('DELETE FROM rejections WHERE seq = ? AND received_at < ?');

  // One snapshot for a page and the rows, attempts and dead letters of its records.
  const readPage = db.transaction((f: ReturnType<typeof preparePrunableFilter>) =>
    (prunable.all({ ...f, limit: f.limit + 1 }) as RecordRow[]).map((row) => ({
      seq: row.seq,
      record: {
        ...toRecord(row, outboxOf.all(row.seq) as OutboxRow[], attemptsOf(row.seq)),
        deadLetters: (deadLettersOf.all(row.seq) as DeadLetterRow[]).map(toDeadLetter),
      } satisfies PrunableRecord,
    })),
  );

  return {
    async listPrunable(filter) {
      open();
      const f = preparePrunableFilter(filter);
      const page = toOldestFirstPage(readPage(f), f.limit, (r) => ({ at: r.record.receivedAt.getTime(), seq: r.seq }));
      return { items: page.items.map((r) => r.record), nextCursor: page.nextCursor };
    },

    async listPrunableRejections(filter) {
      open();
      const f = preparePrunableFilter(filter);
      const rows = rejections.all({ ...f, limit: f.limit + 1 }) as RejectionRow[];
      return toOldestFirstPage(rows.map(toRejection), f.limit, (r) => ({ at: r.receivedAt.getTime(), seq: r.seq }));
    },

    async prune(request) {
      open();
      const p = preparePrune(request);
      return writer.run(() => {
        const result = emptyPruneResult();
        const tally = new Tally();
        result.kept = p.unknown;
        for (const key of p.records) {
          const record = recordByKey.get(key.source, key.id) as { seq: number; receivedAt: number; verdict: string } | undefined;
          if (!record || record.receivedAt >= p.before || (unsettled.get(record.seq, p.before) as number) > 0) {
            result.kept += 1;
            continue;
          }
          result.attempts += deleteAttempts.run(record.seq).changes + (inlineAttempts.get(record.seq) as number);
          result.deadLetters += deleteDeadLetters.run(record.seq).changes;
          const rows = deleteOutbox.all(record.seq) as { target: string; status: string }[];
          for (const r of rows) tally.remove(r.target, r.status);
          result.outbox += rows.length;
          const removed = deleteRecord.run(record.seq).changes;
          result.records += removed;
          tally.add('records', record.verdict, '', -removed);
        }
        for (const seq of p.rejections) {
          const removed = deleteRejection.run(seq, p.before).changes;
          result.rejections += removed;
          tally.add('rejections', '', '', -removed);
          if (removed === 0) result.kept += 1;
        }
        tally.write(addCount);
        return result;
      });
    },
  };
}
