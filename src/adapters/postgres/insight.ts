/**
 * The admin panel's reads in PostgreSQL (see src/ports/insight-store.ts), each in one snapshot.
 *
 * JSON is kept as text (see migrations.ts), and `::jsonb` refuses a few strings JSON.stringify writes
 * (a \u0000), so a JSON test is only ever reached through a LIKE on the text that has already matched:
 * CASE evaluates its branches in order, so a row that could not be cast is never cast. The first reason's
 * code is read with a regular expression, anchored where JSON.stringify puts it.
 */
import { containsPattern, mergeHits, prepareSearch, prepareTimeSeries, recordHit, rejectionHit, SeriesBuilder, seqBound } from '../../ports/insight-input.js';
import type { PreparedSearch } from '../../ports/insight-input.js';
import type { InsightStore } from '../../ports/insight-store.js';
import type { AttemptOutcome, StoredVerdict } from '../../ports/store.js';
import type { Query } from './group-commit.js';
import type { PgContext } from './context.js';
import { Where } from './sql.js';

const FIRST_CODE = String.raw`^\[\{"code":"([^"\\]*)"`;

export function pgInsight({ t, snapshot, open }: PgContext): InsightStore {
  const window = 'BETWEEN $1::bigint AND $2::bigint';
  const bucket = (column: string) => `(${column} - $1::bigint) / $3::bigint`;
  const records = `SELECT ${bucket('received_at')} AS b, verdict, count(*) AS n FROM ${t.records} WHERE received_at ${window} GROUP BY 1, 2`;
  const rejections = `SELECT ${bucket('received_at')} AS b, substring(errors from $4::text) AS code, count(*) AS n
    FROM ${t.rejections} WHERE received_at ${window} GROUP BY 1, 2`;
  const attempts = `SELECT ${bucket('a.at')} AS b, o.target, a.outcome, count(*) AS n
    FROM ${t.attempts} a JOIN ${t.outbox} o ON o.id = a.outbox_id WHERE a.at ${window} GROUP BY 1, 2, 3`;
  // Deliveries held on the outbox row (schema step 4) are attempts too.
  const heldDeliveries = `SELECT ${bucket('delivered_at')} AS b, target, count(*) AS n
    FROM ${t.outbox} WHERE status = 'delivered' AND delivered_at ${window} AND receipt_inline GROUP BY 1, 2`;
  const deadLetters = `SELECT ${bucket('at')} AS b, count(*) AS n FROM ${t.deadLetters} WHERE at ${window} GROUP BY 1`;

  async function searchTable(query: Query, f: PreparedSearch, rank: 0 | 1) {
    const where = new Where();
    where.add('received_at >= ?', f.from);
    where.add('received_at < ?', f.to);
    const at = where.param(f.cursorAt);
    where.add(`(received_at < ${at}::bigint OR (received_at = ${at}::bigint AND seq < ?))`, seqBound(f, rank));
    if (f.source !== null) where.add('source = ?', f.source);
    if (rank === 1) {
      if (f.id !== null) where.add('id = ?', f.id);
      if (f.subject !== null) where.add('subject = ?', f.subject);
      if (f.verdict !== null) where.add('verdict = ?', f.verdict);
      if (f.code !== null) where.add('code = ?', f.code);
      const rows = await query<Parameters<typeof recordHit>[0]>(
        `SELECT seq, source, id, type, subject, verdict, code, ruleset_version AS "rulesetVersion", received_at AS "receivedAt"
         FROM ${t.records} ${where} ORDER BY received_at DESC, seq DESC LIMIT ${where.param(f.limit + 1)}`,
        where.values,
      );
      return rows.map(recordHit);
    }
    if (f.id !== null) where.add('record_id = ?', f.id);
    if (f.subject !== null) {
      const like = where.param(containsPattern(`"subject":${JSON.stringify(f.subject)}`));
      where.add(`CASE WHEN payload LIKE ${like} THEN jsonb_typeof(payload::jsonb -> 'subject') = 'string' AND payload::jsonb ->> 'subject' = ? ELSE false END`, f.subject);
    }
    if (f.code !== null) {
      const like = where.param(containsPattern(`"code":${JSON.stringify(f.code)}`));
      where.add(`CASE WHEN errors LIKE ${like} THEN errors::jsonb @> jsonb_build_array(jsonb_build_object('code', ?::text)) ELSE false END`, f.code);
    }
    const rows = await query<Parameters<typeof rejectionHit>[0]>(
      `SELECT seq, source, record_id AS id, type, errors, ruleset_version AS "rulesetVersion", received_at AS "receivedAt", payload
       FROM ${t.rejections} ${where} ORDER BY received_at DESC, seq DESC LIMIT ${where.param(f.limit + 1)}`,
      where.values,
    );
    return rows.map(rejectionHit);
  }

  return {
    async timeSeries(request) {
      open();
      const p = prepareTimeSeries(request);
      const params = [p.from, p.to - 1, p.bucketMs];
      return snapshot(async (query) => {
        const out = new SeriesBuilder(p);
        for (const r of await query<{ b: number; verdict: StoredVerdict; n: number }>(records, params)) out.record(r.b, r.verdict, r.n);
        for (const r of await query<{ b: number; code: string | null; n: number }>(rejections, [...params, FIRST_CODE])) out.reject(r.b, r.code, r.n);
        for (const r of await query<{ b: number; target: string; outcome: AttemptOutcome; n: number }>(attempts, params)) out.attempt(r.b, r.target, r.outcome, r.n);
        for (const r of await query<{ b: number; target: string; n: number }>(heldDeliveries, params)) out.attempt(r.b, r.target, 'delivered', r.n);
        for (const r of await query<{ b: number; n: number }>(deadLetters, params)) out.deadLetter(r.b, r.n);
        return out.series;
      });
    },

    async searchRecords(filter) {
      open();
      const f = prepareSearch(filter);
      return snapshot(async (query) => mergeHits(f, f.records ? await searchTable(query, f, 1) : [], f.rejections ? await searchTable(query, f, 0) : []));
    },
  };
}
