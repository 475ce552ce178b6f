/** Dead letters and replays: what an operator does with deliveries that are dead or already delivered. */
import { StoreNotFoundError, StoreStateError } from '../../ports/errors.js';
import { prepareDeadLetterFilter, prepareRequeue, prepareResolution } from '../../ports/outbox-input.js';
import { rowNumber, text, toPage } from '../../ports/store-input.js';
import { toDeadLetter } from '../../ports/store-rows.js';
import type { DeadLetterRow } from '../../ports/store-rows.js';
import type { DeadLetterStatus, OutboxStore } from '../../ports/store.js';
import { DEAD_LETTER_COLUMNS } from './columns.js';
import type { SqliteContext } from './context.js';
import { addCountStatement, Tally } from './counts.js';

type DeadLetterOps = Pick<OutboxStore, 'listDeadLetters' | 'retryDeadLetter' | 'discardDeadLetter' | 'requeueDelivered'>;

export function sqliteDeadLetters({ db, writer, cached, open }: SqliteContext): DeadLetterOps {
  const byId = db.prepare(`SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE id = ?`);
  const resolve = db.prepare(`
    UPDATE dead_letters SET status = @status, resolved_at = @at, resolved_by = @by WHERE id = @id
    RETURNING ${DEAD_LETTER_COLUMNS}`);
  // attempts restarts at 0 so the retry policy gives the row a full set again; the history stays in attempts.
  const revive = db.prepare(`
    UPDATE outbox SET status = 'pending', attempts = 0, first_try_at = NULL, next_attempt_at = @at WHERE id = @outboxId AND status = 'dead'`);
  const discard = db.prepare(`UPDATE outbox SET status = 'discarded' WHERE id = @outboxId AND status = 'dead'`);
  const addCount = addCountStatement(db);

  function decide(id: string, status: DeadLetterStatus, at: number, by: string | null): DeadLetterRow {
    const n = rowNumber(id);
    const row = n === null ? undefined : (byId.get(n) as DeadLetterRow | undefined);
    if (n === null || !row) throw new StoreNotFoundError('dead letter', id);
    if (row.status !== 'dead') throw new StoreStateError(`Dead letter "${id}" is already ${row.status}`, { id, status: row.status });
    if ((status === 'retried' ? revive : discard).run({ outboxId: row.outboxId, at }).changes > 0) {
      new Tally().move(row.target, 'dead', status === 'retried' ? 'pending' : 'discarded').write(addCount);
    }
    return resolve.get({ id: n, status, at, by }) as DeadLetterRow;
  }

  return {
    async listDeadLetters(filter) {
      open();
      const f = prepareDeadLetterFilter(filter);
      const where = ['status = @status'];
      if (f.target !== null) where.push('target = @target');
      if (f.code !== null) where.push('code = @code');
      if (f.reason !== null) where.push('instr(reason, @reason) > 0');
      if (f.from !== null) where.push('at >= @from');
      if (f.to !== null) where.push('at < @to');
      if (f.before !== null) where.push('id < @before');
      const sql = `SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT @limit`;
      const rows = cached(sql).all({ ...f, limit: f.limit + 1 }) as DeadLetterRow[];
      return toPage(rows.map(toDeadLetter), f.limit, (d) => d.id);
    },

    async retryDeadLetter(id, resolution) {
      open();
      const key = text(id, 'id');
      const r = prepareResolution(resolution);
      return toDeadLetter(await writer.run(() => decide(key, 'retried', r.at, r.by)));
    },

    async discardDeadLetter(id, resolution) {
      open();
      const key = text(id, 'id');
      const r = prepareResolution(resolution);
      return toDeadLetter(await writer.run(() => decide(key, 'discarded', r.at, r.by)));
    },

    async requeueDelivered(filter) {
      open();
      const f = prepareRequeue(filter);
      // The receipt columns stay until the target confirms again; attempts keeps every earlier answer, so a
      // delivery held on the row (schema step 3) is moved into attempts first, in the same transaction.
      const where = ["status = 'delivered'", 'delivered_at >= @from', 'delivered_at < @to'];
      if (f.source !== null) where.push('source = @source');
      if (f.target !== null) where.push('target = @target');
      const keep = `
        INSERT INTO attempts (outbox_id, at, outcome, status_code, target_id, latency_ms, error, answer, worker)
        SELECT id, delivered_at, 'delivered', receipt_status, receipt_target_id, receipt_latency_ms, NULL, receipt_answer, receipt_worker
        FROM outbox WHERE ${where.join(' AND ')} AND receipt_inline = 1 ORDER BY id`;
      const sql = `UPDATE outbox SET status = 'pending', attempts = 0, replays = replays + 1, first_try_at = NULL, next_attempt_at = @at, receipt_inline = 0 WHERE ${where.join(' AND ')}`;
      const perTarget = `SELECT target, count(*) AS n FROM outbox WHERE ${where.join(' AND ')} GROUP BY target`;
      return writer.run(() => {
        const tally = new Tally();
        for (const r of cached(perTarget).all(f) as { target: string; n: number }[]) tally.move(r.target, 'delivered', 'pending', r.n);
        cached(keep).run(f);
        const changes = cached(sql).run(f).changes;
        tally.write(addCount);
        return changes;
      });
    },
  };
}
