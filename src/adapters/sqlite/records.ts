/** The record side of the SQLite store. */
import { prepareIngest, prepareRejection, prepareRejectionFilter, text, toDate, toPage } from '../../ports/store-input.js';
import type { PreparedIngestItem } from '../../ports/store-input.js';
import { toRecord, toRejection } from '../../ports/store-rows.js';
import type { OutboxRow, RecordRow, RejectionRow } from '../../ports/store-rows.js';
import type { IngestOutcome, RecordStore, StoredVerdict } from '../../ports/store.js';
import type { SqliteContext } from './context.js';
import { compileIngestLoop, compileRejectOne, INGEST, REJECTION } from './writer-thread.js';
import type { ExistingRow, ThreadJob } from './writer-thread.js';
import { recordAttempts } from './attempt-rows.js';
import { OUTBOX_COLUMNS } from './columns.js';
import { ADD_COUNT } from './counts.js';

/** The record writes, with positional parameters: the main connection and the writer thread prepare the same text. */
export const RECORD_WRITES = {
  // RETURNING answers only when the row was inserted: no second query on the common path.
  insertRecord: `
    INSERT INTO records (source, id, type, subject, payload, payload_hash, verdict, code, message, ruleset_version, received_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (source, id) DO NOTHING
    RETURNING seq`,
  existingRecord: 'SELECT verdict, payload_hash, received_at FROM records WHERE source = ? AND id = ?',
  insertOutbox: `
    INSERT INTO outbox (record_seq, source, record_id, target, body, created_at, next_attempt_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)`,
  insertRejection: `
    INSERT INTO rejections (source, record_id, type, errors, ruleset_version, received_at, payload)
    VALUES (?, ?, ?, ?, ?, ?, ?)`,
  addCount: ADD_COUNT,
};

/** An ingest call as a writer-thread job (see ThreadJob), which ingestNow below reads too. */
function ingestJob(items: PreparedIngestItem[]): ThreadJob {
  const job: unknown[] = [INGEST];
  for (const item of items) {
    job.push(item.source, item.id, item.type, item.subject, item.payload, item.payloadHash, item.verdict, item.code, item.message, item.rulesetVersion, item.receivedAt);
    job.push(item.outputs.length);
    for (const o of item.outputs) job.push(o.target, o.body);
  }
  return job;
}

function outcomesOf(items: PreparedIngestItem[], existing: ExistingRow[]): IngestOutcome[] {
  const out: IngestOutcome[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const row = existing[i];
    if (row === null) {
      out[i] = { source: item.source, id: item.id, status: item.verdict };
      continue;
    }
    const [verdict, payloadHash, receivedAt] = row;
    out[i] = {
      source: item.source,
      id: item.id,
      status: payloadHash === item.payloadHash ? 'duplicate' : 'conflict',
      existing: { verdict: verdict as StoredVerdict, payloadHash, receivedAt: toDate(receivedAt) },
    };
  }
  return out;
}

export function sqliteRecords({ db, writer, thread, cached, open }: SqliteContext): RecordStore {
  const insertRecord = db.prepare(RECORD_WRITES.insertRecord);
  const existingRecord = db.prepare(RECORD_WRITES.existingRecord).raw();
  const insertOutbox = db.prepare(RECORD_WRITES.insertOutbox);
  const insertRejection = db.prepare(RECORD_WRITES.insertRejection);
  const addCount = db.prepare(RECORD_WRITES.addCount);
  const recordById = db.prepare(`
    SELECT seq, source, id, type, subject, payload, payload_hash AS payloadHash, verdict, code, message,
           ruleset_version AS rulesetVersion, received_at AS receivedAt
    FROM records WHERE source = ? AND id = ?`);
  const outboxOfRecord = db.prepare(`SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE record_seq = ? ORDER BY id`);
  const attemptsOfRecord = recordAttempts(db);

  // What the writer thread runs (writer-thread.ts), for a store without one (in memory): the same code.
  const ingestNow = compileIngestLoop(insertRecord, existingRecord, insertOutbox, addCount);
  const rejectNow = compileRejectOne(insertRejection, addCount);

  // One snapshot for the record, its rows and their attempts, even if another process writes meanwhile.
  const readRecord = db.transaction((source: string, id: string) => {
    const row = recordById.get(source, id) as RecordRow | undefined;
    if (!row) return undefined;
    return toRecord(row, outboxOfRecord.all(row.seq) as OutboxRow[], attemptsOfRecord(row.seq));
  });

  return {
    async ingest(items) {
      open();
      const prepared = prepareIngest(items);
      if (prepared.length === 0) return [];
      const job = ingestJob(prepared);
      const existing = thread ? ((await thread.run(job)) as ExistingRow[]) : await writer.run(() => ingestNow(job));
      return outcomesOf(prepared, existing);
    },

    async recordRejection(entry) {
      open();
      const r = prepareRejection(entry);
      const row = [r.source, r.id, r.type, r.errors, r.rulesetVersion, r.receivedAt, r.payload];
      if (thread) await thread.run([REJECTION, ...row]);
      else await writer.run(() => rejectNow(row));
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
