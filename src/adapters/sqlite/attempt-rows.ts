/**
 * The attempts of a record's outbox rows, oldest first: the rows of the attempts table and the deliveries
 * held on outbox rows since schema step 3 (see claim.ts), merged by withHeldDeliveries.
 */
import { withHeldDeliveries } from '../../ports/store-rows.js';
import type { AttemptRow } from '../../ports/store-rows.js';
import type { SqliteDatabase } from './driver.js';

export function recordAttempts(db: SqliteDatabase): (recordSeq: number) => AttemptRow[] {
  const logged = db.prepare(`
    SELECT a.id, a.outbox_id AS outboxId, a.at, a.outcome, a.status_code AS statusCode, a.target_id AS targetId,
           a.latency_ms AS latencyMs, a.error, a.answer, a.worker
    FROM attempts a JOIN outbox o ON o.id = a.outbox_id WHERE o.record_seq = ? ORDER BY a.id`);
  const held = db.prepare(`
    SELECT NULL AS id, id AS outboxId, delivered_at AS at, 'delivered' AS outcome, receipt_status AS statusCode,
           receipt_target_id AS targetId, receipt_latency_ms AS latencyMs, NULL AS error, receipt_answer AS answer,
           receipt_worker AS worker
    FROM outbox WHERE record_seq = ? AND receipt_inline = 1 ORDER BY delivered_at, id`);

  return (recordSeq) => withHeldDeliveries(logged.all(recordSeq) as AttemptRow[], held.all(recordSeq) as AttemptRow[]);
}
