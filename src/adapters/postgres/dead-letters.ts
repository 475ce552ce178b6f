/** Dead letters and replays: what an operator does with deliveries that are dead or already delivered. */
import { StoreNotFoundError, StoreStateError } from '../../ports/errors.js';
import { prepareDeadLetterFilter, prepareRequeue, prepareResolution } from '../../ports/outbox-input.js';
import { rowNumber, text, toPage } from '../../ports/store-input.js';
import { toDeadLetter } from '../../ports/store-rows.js';
import type { DeadLetterRow } from '../../ports/store-rows.js';
import type { DeadLetterStatus, OutboxStore } from '../../ports/store.js';
import { DEAD_LETTER_COLUMNS } from './columns.js';
import type { PgContext } from './context.js';
import type { Query } from './group-commit.js';
import { Where } from './sql.js';

type DeadLetterOps = Pick<OutboxStore, 'listDeadLetters' | 'retryDeadLetter' | 'discardDeadLetter' | 'requeueDelivered'>;

export function pgDeadLetters({ t, writer, read, open }: PgContext): DeadLetterOps {
  const byId = `SELECT status FROM ${t.deadLetters} WHERE id = $1 FOR UPDATE`;
  // attempts restarts at 0 so the retry policy gives the row a full set again; the history stays in attempts.
  const resolve = (outbox: string) => `
    WITH resolved AS (
      UPDATE ${t.deadLetters} SET status = $2, resolved_at = $3, resolved_by = $4 WHERE id = $1
      RETURNING ${DEAD_LETTER_COLUMNS}
    ), revived AS (
      UPDATE ${t.outbox} o SET ${outbox} FROM resolved WHERE o.id = resolved."outboxId" AND o.status = 'dead'
      RETURNING o.target, o.status
    ), counted AS (
      INSERT INTO ${t.statDeltas} (kind, a, b, n)
      SELECT 'outbox', target, 'dead', -1 FROM revived
      UNION ALL SELECT 'outbox', target, status, 1 FROM revived WHERE status <> 'pending'
    )
    SELECT * FROM resolved`;
  const revive = resolve("status = 'pending', attempts = 0, next_attempt_at = $3, first_try_at = NULL");
  const discard = resolve("status = 'discarded'");

  /** Locks the dead letter, checks it still waits for a decision (writing nothing if not), then decides. */
  async function decide(query: Query, id: string, status: DeadLetterStatus, at: number, by: string | null): Promise<DeadLetterRow> {
    const n = rowNumber(id);
    const [row] = n === null ? [] : await query<{ status: DeadLetterStatus }>(byId, [n], 'blh_dead_letter_lock');
    if (n === null || !row) throw new StoreNotFoundError('dead letter', id);
    if (row.status !== 'dead') throw new StoreStateError(`Dead letter "${id}" is already ${row.status}`, { id, status: row.status });
    const [resolved] = await query<DeadLetterRow>(status === 'retried' ? revive : discard, [n, status, at, by], `blh_dead_letter_${status}`);
    return resolved;
  }

  return {
    async listDeadLetters(filter) {
      open();
      const f = prepareDeadLetterFilter(filter);
      const where = new Where().add('status = ?', f.status);
      if (f.target !== null) where.add('target = ?', f.target);
      if (f.code !== null) where.add('code = ?', f.code);
      if (f.reason !== null) where.add('strpos(reason, ?) > 0', f.reason);
      if (f.from !== null) where.add('at >= ?', f.from);
      if (f.to !== null) where.add('at < ?', f.to);
      if (f.before !== null) where.add('id < ?', f.before);
      const rows = await read<DeadLetterRow>(
        `SELECT ${DEAD_LETTER_COLUMNS} FROM ${t.deadLetters} ${where} ORDER BY id DESC LIMIT ${where.param(f.limit + 1)}`,
        where.values,
      );
      return toPage(rows.map(toDeadLetter), f.limit, (d) => d.id);
    },

    async retryDeadLetter(id, resolution) {
      open();
      const key = text(id, 'id');
      const r = prepareResolution(resolution);
      return toDeadLetter(await writer.run((query) => decide(query, key, 'retried', r.at, r.by)));
    },

    async discardDeadLetter(id, resolution) {
      open();
      const key = text(id, 'id');
      const r = prepareResolution(resolution);
      return toDeadLetter(await writer.run((query) => decide(query, key, 'discarded', r.at, r.by)));
    },

    async requeueDelivered(filter) {
      open();
      const f = prepareRequeue(filter);
      // The receipt columns stay until the target confirms again; attempts keeps every earlier answer, so a
      // delivery held on the row (schema step 4) is moved into attempts in the same statement.
      const where = new Where().add("status = 'delivered' AND delivered_at >= ?", f.from).add('delivered_at < ?', f.to);
      if (f.source !== null) where.add('source = ?', f.source);
      if (f.target !== null) where.add('target = ?', f.target);
      const sql = `
        WITH picked AS (
          SELECT id, target, delivered_at, receipt_status, receipt_target_id, receipt_latency_ms, receipt_answer, receipt_worker, receipt_inline
          FROM ${t.outbox} ${where} FOR UPDATE
        ), requeued AS (
          UPDATE ${t.outbox} o SET status = 'pending', attempts = 0, replays = o.replays + 1, first_try_at = NULL, next_attempt_at = ${where.param(f.at)}, receipt_inline = false
          FROM picked WHERE o.id = picked.id
          RETURNING picked.*
        ), kept AS (
          INSERT INTO ${t.attempts} (outbox_id, at, outcome, status_code, target_id, latency_ms, error, answer, worker)
          SELECT id, delivered_at, 'delivered', receipt_status, receipt_target_id, receipt_latency_ms, NULL, receipt_answer, receipt_worker
          FROM requeued WHERE receipt_inline ORDER BY id
        ), counted AS (
          INSERT INTO ${t.statDeltas} (kind, a, b, n) SELECT 'outbox', target, 'delivered', -count(*) FROM requeued GROUP BY target
        )
        SELECT count(*) AS n FROM requeued`;
      const [{ n }] = await writer.run((query) => query<{ n: number }>(sql, where.values));
      return n;
    },
  };
}
