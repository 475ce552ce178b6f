/** The admin panel's reads in memory (see src/ports/insight-store.ts), by scanning. */
import { firstCode, mergeHits, prepareSearch, prepareTimeSeries, recordHit, rejectionHit, SeriesBuilder, seqBound, subjectOf } from '../../ports/insight-input.js';
import type { PreparedSearch } from '../../ports/insight-input.js';
import type { InsightStore } from '../../ports/insight-store.js';
import type { MemoryState } from './state.js';

export function memoryInsight(state: MemoryState): InsightStore {
  const after = (f: PreparedSearch, at: number, seq: number, rank: 0 | 1) => at < f.cursorAt || (at === f.cursorAt && seq < seqBound(f, rank));
  const inRange = (f: PreparedSearch, at: number) => at >= f.from && at < f.to;
  const newestFirst = (a: { receivedAt: number; seq: number }, b: { receivedAt: number; seq: number }) => b.receivedAt - a.receivedAt || b.seq - a.seq;

  return {
    async timeSeries(request) {
      state.open();
      const p = prepareTimeSeries(request);
      const out = new SeriesBuilder(p);
      for (const r of state.records.values()) out.record(out.bucketOf(r.receivedAt), r.verdict);
      for (const r of state.rejections) out.reject(out.bucketOf(r.receivedAt), firstCode(r.errors));
      for (const a of state.attempts) {
        const row = state.outbox.get(a.outboxId);
        if (row) out.attempt(out.bucketOf(a.at), row.target, a.outcome);
      }
      for (const d of state.deadLetters.values()) out.deadLetter(out.bucketOf(d.at));
      return out.series;
    },

    async searchRecords(filter) {
      state.open();
      const f = prepareSearch(filter);
      const records = !f.records
        ? []
        : [...state.records.values()]
            .filter(
              (r) =>
                inRange(f, r.receivedAt) &&
                after(f, r.receivedAt, r.seq, 1) &&
                (f.source === null || r.source === f.source) &&
                (f.id === null || r.id === f.id) &&
                (f.subject === null || r.subject === f.subject) &&
                (f.verdict === null || r.verdict === f.verdict) &&
                (f.code === null || r.code === f.code),
            )
            .sort(newestFirst)
            .slice(0, f.limit + 1)
            .map(recordHit);
      const rejections = !f.rejections
        ? []
        : state.rejections
            .filter((r) => inRange(f, r.receivedAt) && after(f, r.receivedAt, r.seq, 0) && (f.source === null || r.source === f.source) && (f.id === null || r.id === f.id))
            .filter((r) => f.subject === null || subjectOf(r.payload) === f.subject)
            .sort(newestFirst)
            .map(rejectionHit)
            .filter((h) => f.code === null || h.codes.includes(f.code))
            .slice(0, f.limit + 1);
      return mergeHits(f, records, rejections);
    },
  };
}
