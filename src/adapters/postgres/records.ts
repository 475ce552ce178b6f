/** The record side of the PostgreSQL store; ingest itself is in ingest.ts. */
import { prepareIngest, prepareRejection, prepareRejectionFilter, text, toPage } from '../../ports/store-input.js';
import { toRecord, toRejection, withHeldDeliveries } from '../../ports/store-rows.js';
import type { AttemptRow, OutboxRow, RecordRow, RejectionRow } from '../../ports/store-rows.js';
import type { RecordStore } from '../../ports/store.js';
import { HELD_DELIVERY_COLUMNS, HELD_ORDER, OUTBOX_COLUMNS, RECORD_COLUMNS } from './columns.js';
import type { PgContext } from './context.js';
import { ingestKind } from './ingest.js';
import { Where } from './sql.js';

export function pgRecords({ t, writer, read, snapshot, open }: PgContext): RecordStore {
  const ingest = ingestKind(t);
  const insertRejection = `
    WITH logged AS (
      INSERT INTO ${t.rejections} (source, record_id, type, errors, ruleset_version, received_at, payload)
      VALUES ($1, $2, $3, $4, $5, $6, $7)
      RETURNING 1
    )
    INSERT INTO ${t.statDeltas} (kind, a, b, n) SELECT 'rejections', '', '', count(*) FROM logged`;
  const recordById = `SELECT ${RECORD_COLUMNS} FROM ${t.records} WHERE source = $1 AND id = $2`;
  const outboxOfRecord = `SELECT ${OUTBOX_COLUMNS} FROM ${t.outbox} WHERE record_seq = $1 ORDER BY id`;
  const attemptsOfRecord = `
    SELECT a.id, a.outbox_id AS "outboxId", a.at, a.outcome, a.status_code AS "statusCode", a.target_id AS "targetId",
           a.latency_ms AS "latencyMs", a.error, a.answer, a.worker
    FROM ${t.attempts} a JOIN ${t.outbox} o ON o.id = a.outbox_id
    WHERE o.record_seq = $1 ORDER BY a.id`;
  const heldOfRecord = `SELECT ${HELD_DELIVERY_COLUMNS} FROM ${t.outbox} WHERE record_seq = $1 AND receipt_inline ORDER BY ${HELD_ORDER}`;

  return {
    async ingest(items) {
      open();
      const prepared = prepareIngest(items);
      if (prepared.length === 0) return [];
      return writer.merge(ingest, prepared);
    },

    async recordRejection(entry) {
      open();
      const r = prepareRejection(entry);
      await writer.run((query) => query(insertRejection, [r.source, r.id, r.type, r.errors, r.rulesetVersion, r.receivedAt, r.payload], 'blh_rejection'));
    },

    async listRejections(filter) {
      open();
      const f = prepareRejectionFilter(filter);
      const where = new Where();
      if (f.source !== null) where.add('source = ?', f.source);
      if (f.id !== null) where.add('record_id = ?', f.id);
      if (f.from !== null) where.add('received_at >= ?', f.from);
      if (f.to !== null) where.add('received_at < ?', f.to);
      if (f.before !== null) where.add('seq < ?', f.before);
      const rows = await read<RejectionRow>(
        `SELECT seq, source, record_id AS id, type, errors, ruleset_version AS "rulesetVersion", received_at AS "receivedAt", payload
         FROM ${t.rejections} ${where} ORDER BY seq DESC LIMIT ${where.param(f.limit + 1)}`,
        where.values,
      );
      return toPage(rows.map(toRejection), f.limit, (r) => r.seq);
    },

    // One snapshot for the record, its rows and their attempts, even while workers settle them.
    async getRecord(source, id) {
      open();
      const key = [text(source, 'source'), text(id, 'id')];
      return snapshot(async (query) => {
        const [row] = await query<RecordRow>(recordById, key, 'blh_record');
        if (!row) return undefined;
        const outbox = await query<OutboxRow>(outboxOfRecord, [row.seq], 'blh_record_outbox');
        const attempts = await query<AttemptRow>(attemptsOfRecord, [row.seq], 'blh_record_attempts');
        const held = await query<AttemptRow>(heldOfRecord, [row.seq], 'blh_record_held');
        return toRecord(row, outbox, withHeldDeliveries(attempts, held));
      });
    },
  };
}
