/**
 * Ingest as one mergeable kind of write: every ingest call of a batch is stored by the same two
 * statements, whatever the number of calls and records.
 *
 * 1. One INSERT ... ON CONFLICT (source, id) DO NOTHING RETURNING for the records, with their outbox
 *    rows inserted by the same statement for the records that went in (and the records counted, stats.ts). The unique constraint decides,
 *    inside this transaction: a concurrent transaction holding the same identity makes this one wait for
 *    its outcome, so an identity is only ever taken by a commit that stores the record.
 * 2. Only when some identity was taken already: one SELECT of those records, to tell duplicate (same
 *    payload hash) from conflict. It is a statement of its own so that, under READ COMMITTED, it sees a
 *    record committed by another transaction while the INSERT waited.
 *
 * Identities repeated within the batch (within one call or across calls) are answered here, against the
 * first occurrence, which is the only one sent. Records are inserted in (source, id) order so that two
 * batches holding the same identities lock them in the same order and cannot deadlock.
 */
import { StoreInputError } from '../../ports/errors.js';
import { toDate } from '../../ports/store-input.js';
import type { PreparedIngestItem } from '../../ports/store-input.js';
import type { IngestOutcome, StoredVerdict } from '../../ports/store.js';
import type { MergeableKind, Query } from './group-commit.js';
import type { Tables } from './sql.js';

interface Existing {
  verdict: StoredVerdict;
  payloadHash: string;
  receivedAt: number;
}

const identity = (item: { source: string; id: string }) => JSON.stringify([item.source, item.id]);

export function ingestKind(t: Tables): MergeableKind<PreparedIngestItem[], IngestOutcome[]> {
  const insert = `
    WITH input AS (
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[])
        AS i (source, id, type, subject, payload, payload_hash, verdict, code, message, ruleset_version, received_at)
    ), inserted AS (
      INSERT INTO ${t.records} (source, id, type, subject, payload, payload_hash, verdict, code, message, ruleset_version, received_at)
      SELECT source, id, type, subject, payload, payload_hash, verdict, code, message, ruleset_version, received_at
      FROM input ORDER BY source, id
      ON CONFLICT (source, id) DO NOTHING
      RETURNING seq, source, id, received_at, verdict
    ), counted AS (
      INSERT INTO ${t.statDeltas} (kind, a, b, n) SELECT 'records', verdict, '', count(*) FROM inserted GROUP BY verdict
    ), outbox_rows AS (
      INSERT INTO ${t.outbox} (record_seq, source, record_id, target, body, created_at, next_attempt_at)
      SELECT r.seq, o.source, o.id, o.target, o.body, r.received_at, r.received_at
      FROM unnest($12::text[], $13::text[], $14::text[], $15::text[]) WITH ORDINALITY AS o (source, id, target, body, n)
      JOIN inserted r ON r.source = o.source AND r.id = o.id
      ORDER BY o.n
    )
    SELECT source, id FROM inserted`;
  const existing = `
    SELECT r.source, r.id, r.verdict, r.payload_hash AS "payloadHash", r.received_at AS "receivedAt"
    FROM ${t.records} r JOIN unnest($1::text[], $2::text[]) AS k (source, id) ON r.source = k.source AND r.id = k.id`;

  return {
    async runMany(query: Query, calls: PreparedIngestItem[][]): Promise<IngestOutcome[][]> {
      const first = new Map<string, PreparedIngestItem>();
      for (const call of calls) for (const item of call) if (!first.has(identity(item))) first.set(identity(item), item);
      const unique = [...first.values()];
      const column = <K extends keyof PreparedIngestItem>(key: K) => unique.map((item) => item[key]);
      const outputs = unique.flatMap((item) => item.outputs.map((o) => ({ source: item.source, id: item.id, ...o })));

      const rows = await query<{ source: string; id: string }>(
        insert,
        [
          column('source'),
          column('id'),
          column('type'),
          column('subject'),
          column('payload'),
          column('payloadHash'),
          column('verdict'),
          column('code'),
          column('message'),
          column('rulesetVersion'),
          column('receivedAt'),
          outputs.map((o) => o.source),
          outputs.map((o) => o.id),
          outputs.map((o) => o.target),
          outputs.map((o) => o.body),
        ],
        'blh_ingest',
      );
      const inserted = new Set(rows.map(identity));

      const stored = new Map<string, Existing>();
      const taken = unique.filter((item) => !inserted.has(identity(item)));
      if (taken.length > 0) {
        const found = await query<Existing & { source: string; id: string }>(existing, [taken.map((i) => i.source), taken.map((i) => i.id)], 'blh_ingest_existing');
        for (const row of found) stored.set(identity(row), row);
      }

      return calls.map((call) =>
        call.map((item): IngestOutcome => {
          const key = identity(item);
          const head = first.get(key)!;
          if (head === item && inserted.has(key)) return { source: item.source, id: item.id, status: item.verdict };
          const prior: Existing | undefined = inserted.has(key) ? head : stored.get(key);
          // Not inserted and not found: only possible if the database compares these strings differently from
          // JavaScript (text it cannot store as given). Refused as the caller's data, not retried.
          if (!prior) throw new IdentityMismatchError(item.source, item.id);
          return {
            source: item.source,
            id: item.id,
            status: prior.payloadHash === item.payloadHash ? 'duplicate' : 'conflict',
            existing: { verdict: prior.verdict, payloadHash: prior.payloadHash, receivedAt: toDate(prior.receivedAt) },
          };
        }),
      );
    },
  };
}

class IdentityMismatchError extends StoreInputError {
  constructor(source: string, id: string) {
    super(`The identity (${JSON.stringify(source)}, ${JSON.stringify(id)}) is taken, but no record is found by it: text the database cannot store as given?`, {
      source,
      id,
    });
  }
}
