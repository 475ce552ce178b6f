/** The record side of the SQLite store. */
import { prepareIngest, prepareRejection, prepareRejectionFilter, text, toDate, toPage } from '../../ports/store-input.js';
import type { PreparedIngestItem } from '../../ports/store-input.js';
import { toRecord, toRejection } from '../../ports/store-rows.js';
import type { AttemptRow, OutboxRow, RecordRow, RejectionRow } from '../../ports/store-rows.js';
import type { IngestOutcome, RecordStore, StoredVerdict } from '../../ports/store.js';
import type { SqliteContext } from './context.js';
import { OUTBOX_COLUMNS } from './columns.js';

export function sqliteRecords({ db, writer, cached, open }: SqliteContext): RecordStore {
  // RETURNING answers only when the row was inserted: no second query on the common path.
  const insertRecord = db.prepare(`
    INSERT INTO records (source, id, type, subject, payload, payload_hash, verdict, code, message, ruleset_version, received_at)
    VALUES (@source, @id, @type, @subject, @payload, @payloadHash, @verdict, @code, @message, @rulesetVersion, @receivedAt)
    ON CONFLICT (source, id) DO NOTHING
    RETURNING seq`);
  const existingRecord = db.prepare(
    'SELECT verdict, payload_hash AS payloadHash, received_at AS receivedAt FROM records WHERE source = ? AND id = ?',
  );
  const insertOutbox = db.prepare(`
    INSERT INTO outbox (record_seq, source, record_id, target, body, created_at, next_attempt_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const insertRejection = db.prepare(`
    INSERT INTO rejections (source, record_id, type, errors, ruleset_version, received_at, payload)
    VALUES (@source, @id, @type, @errors, @rulesetVersion, @receivedAt, @payload)`);
  const recordById = db.prepare(`
    SELECT seq, source, id, type, subject, payload, payload_hash AS payloadHash, verdict, code, message,
           ruleset_version AS rulesetVersion, received_at AS receivedAt
    FROM records WHERE source = ? AND id = ?`);
  const outboxOfRecord = db.prepare(`SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE record_seq = ? ORDER BY id`);
  const attemptsOfRecord = db.prepare(`
    SELECT a.id, a.outbox_id AS outboxId, a.at, a.outcome, a.status_code AS statusCode, a.target_id AS targetId,
           a.latency_ms AS latencyMs, a.error, a.answer, a.worker
    FROM attempts a JOIN outbox o ON o.id = a.outbox_id
    WHERE o.record_seq = ? ORDER BY a.id`);

  function ingestNow(items: PreparedIngestItem[]): IngestOutcome[] {
    return items.map(({ outputs, ...item }): IngestOutcome => {
      const inserted = insertRecord.get(item) as { seq: number } | undefined;
      if (inserted) {
        for (const o of outputs) insertOutbox.run(inserted.seq, item.source, item.id, o.target, o.body, item.receivedAt, item.receivedAt);
        return { source: item.source, id: item.id, status: item.verdict };
      }
      const existing = existingRecord.get(item.source, item.id) as { verdict: StoredVerdict; payloadHash: string; receivedAt: number };
      return {
        source: item.source,
        id: item.id,
        status: existing.payloadHash === item.payloadHash ? 'duplicate' : 'conflict',
        existing: { verdict: existing.verdict, payloadHash: existing.payloadHash, receivedAt: toDate(existing.receivedAt) },
      };
    });
  }

  // One snapshot for the record, its rows and their attempts, even if another process writes meanwhile.
  const readRecord = db.transaction((source: string, id: string) => {
    const row = recordById.get(source, id) as RecordRow | undefined;
    if (!row) return undefined;
    return toRecord(row, outboxOfRecord.all(row.seq) as OutboxRow[], attemptsOfRecord.all(row.seq) as AttemptRow[]);
  });

  return {
    async ingest(items) {
      open();
      const prepared = prepareIngest(items);
      if (prepared.length === 0) return [];
      return writer.run(() => ingestNow(prepared));
    },

    async recordRejection(entry) {
      open();
      const r = prepareRejection(entry);
      await writer.run(() => insertRejection.run(r));
    },

    async listRejections(filter) {
      open();
      const f = prepareRejectionFilter(filter);
      const where: string[] = [];
      if (f.source !== null) where.push('source = @source');
      if (f.id !== null) where.push('record_id = @id');
      if (f.from !== null) where.push('received_at >= @from');
      if (f.to !== null) where.push('received_at < @to');
      if (f.before !== null) where.push('seq < @before');
      const rows = cached(`
        SELECT seq, source, record_id AS id, type, errors, ruleset_version AS rulesetVersion, received_at AS receivedAt, payload
        FROM rejections ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`).all({ ...f, limit: f.limit + 1 }) as RejectionRow[];
      return toPage(rows.map(toRejection), f.limit, (r) => r.seq);
    },

    async getRecord(source, id) {
      open();
      return readRecord(text(source, 'source'), text(id, 'id'));
    },
  };
}
