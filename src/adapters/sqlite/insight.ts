/**
 * The admin panel's reads in SQLite (see src/ports/insight-store.ts). Records and rejections are found
 * through their received_at indexes (schema step 2); counting attempts reads the attempts of the window
 * through a scan. A window of a million records takes about a second to count, so for a store in a file
 * these reads run on a thread of their own (reader-thread.ts), off the event loop that answers ingest; a
 * store in memory reads on its own connection. The panel caches the answers for a few seconds.
 */
import { mergeHits, prepareSearch, prepareTimeSeries, recordHit, rejectionHit, SeriesBuilder, seqBound } from '../../ports/insight-input.js';
import type { PreparedSearch } from '../../ports/insight-input.js';
import type { InsightStore } from '../../ports/insight-store.js';
import type { AttemptOutcome, StoredVerdict } from '../../ports/store.js';
import type { SqliteContext } from './context.js';
import { batchReader } from './reader-thread.js';
import type { ReadStatement } from './reader-thread.js';

export function sqliteInsight(ctx: SqliteContext): InsightStore {
  const { open } = ctx;
  const window = 'BETWEEN @from AND @last';
  const bucket = (column: string) => `CAST((${column} - @from) / @bucketMs AS INTEGER)`;
  const series = {
    records: `SELECT ${bucket('received_at')} AS b, verdict, count(*) AS n FROM records WHERE received_at ${window} GROUP BY b, verdict`,
    rejections: `SELECT ${bucket('received_at')} AS b, json_extract(errors, '$[0].code') AS code, count(*) AS n FROM rejections WHERE received_at ${window} GROUP BY b, code`,
    attempts: `
      SELECT ${bucket('a.at')} AS b, o.target, a.outcome, count(*) AS n
      FROM attempts a JOIN outbox o ON o.id = a.outbox_id WHERE a.at ${window} GROUP BY b, o.target, a.outcome`,
    // Deliveries held on their outbox rows (schema step 3), through the index on delivered rows.
    inlineDeliveries: `
      SELECT ${bucket('delivered_at')} AS b, target, count(*) AS n
      FROM outbox WHERE status = 'delivered' AND delivered_at ${window} AND receipt_inline = 1 GROUP BY b, target`,
    deadLetters: `SELECT ${bucket('at')} AS b, count(*) AS n FROM dead_letters WHERE at ${window} GROUP BY b`,
  };

  /** Runs the statements in one snapshot: on the reader thread when the store has one. */
  const read = batchReader(ctx);

  /** One statement per combination of filters given, each with only the parameters it names. */
  function searchStatement(f: PreparedSearch, rank: 0 | 1): ReadStatement {
    const where = ['received_at >= @from', 'received_at < @to', '(received_at < @cursorAt OR (received_at = @cursorAt AND seq < @bound))'];
    const params: Record<string, unknown> = { from: f.from, to: f.to, cursorAt: f.cursorAt, bound: seqBound(f, rank), limit: f.limit + 1 };
    const add = (sql: string, name: string, value: unknown) => {
      where.push(sql);
      params[name] = value;
    };
    if (f.source !== null) add('source = @source', 'source', f.source);
    if (rank === 1) {
      if (f.id !== null) add('id = @id', 'id', f.id);
      if (f.subject !== null) add('subject = @subject', 'subject', f.subject);
      if (f.verdict !== null) add('verdict = @verdict', 'verdict', f.verdict);
      if (f.code !== null) add('code = @code', 'code', f.code);
      const sql = `SELECT seq, source, id, type, subject, verdict, code, ruleset_version AS rulesetVersion, received_at AS receivedAt
        FROM records WHERE ${where.join(' AND ')} ORDER BY received_at DESC, seq DESC LIMIT @limit`;
      return { sql, params };
    }
    if (f.id !== null) add('record_id = @id', 'id', f.id);
    if (f.subject !== null) add("json_type(payload, '$.subject') = 'text' AND json_extract(payload, '$.subject') = @subject", 'subject', f.subject);
    if (f.code !== null) add("EXISTS (SELECT 1 FROM json_each(errors) e WHERE json_extract(e.value, '$.code') = @code)", 'code', f.code);
    const sql = `SELECT seq, source, record_id AS id, type, errors, ruleset_version AS rulesetVersion, received_at AS receivedAt, payload
      FROM rejections WHERE ${where.join(' AND ')} ORDER BY received_at DESC, seq DESC LIMIT @limit`;
    return { sql, params };
  }

  return {
    async timeSeries(request) {
      open();
      const p = prepareTimeSeries(request);
      const params = { from: p.from, last: p.to - 1, bucketMs: p.bucketMs };
      const [records, rejections, attempts, inline, deadLetters] = await read(
        [series.records, series.rejections, series.attempts, series.inlineDeliveries, series.deadLetters].map((sql) => ({ sql, params })),
      );
      const out = new SeriesBuilder(p);
      for (const r of records as { b: number; verdict: StoredVerdict; n: number }[]) out.record(r.b, r.verdict, r.n);
      for (const r of rejections as { b: number; code: string | null; n: number }[]) out.reject(r.b, r.code, r.n);
      for (const r of attempts as { b: number; target: string; outcome: AttemptOutcome; n: number }[]) out.attempt(r.b, r.target, r.outcome, r.n);
      for (const r of inline as { b: number; target: string; n: number }[]) out.attempt(r.b, r.target, 'delivered', r.n);
      for (const r of deadLetters as { b: number; n: number }[]) out.deadLetter(r.b, r.n);
      return out.series;
    },

    async searchRecords(filter) {
      open();
      const f = prepareSearch(filter);
      const batch: ReadStatement[] = [];
      if (f.records) batch.push(searchStatement(f, 1));
      if (f.rejections) batch.push(searchStatement(f, 0));
      const rows = await read(batch);
      const records = f.records ? (rows.shift() as Parameters<typeof recordHit>[0][]).map(recordHit) : [];
      const rejections = f.rejections ? (rows.shift() as Parameters<typeof rejectionHit>[0][]).map(rejectionHit) : [];
      return mergeHits(f, records, rejections);
    },
  };
}
