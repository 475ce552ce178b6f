/** The loop validate and convert share: read items, judge each, count, with an optional progress bar. */
import { PipelineCodes } from '../core/codes.ts';
import { itemPosition, type RecordItem } from '../io/items.ts';
import { openBatch } from './shared.ts';
import { Progress, num, plural } from './output.ts';
import type { Pipeline } from '../pipeline.ts';
import type { PipelineResult, RejectedResult } from '../types.ts';
import type { CliContext } from './context.ts';

export interface Judged {
  file: string;
  item: RecordItem;
  result: PipelineResult;
}

export interface Summary {
  records: number;
  accepted: number;
  skipped: number;
  rejected: number;
  /** Of the rejected: lines or elements that were not records at all. */
  malformed: number;
  codes: { rejected: Record<string, number>; skipped: Record<string, number> };
  files: string[];
  durationMs: number;
  recordsPerSecond: number;
}

export async function judgeBatches(
  ctx: CliContext,
  o: { paths: string[]; pipeline: Pipeline; nowMs: number; inputFormat: string | undefined; progress: boolean | undefined },
  onJudged: (j: Judged) => void | Promise<void>,
): Promise<Summary> {
  const started = performance.now();
  const s: Summary = { records: 0, accepted: 0, skipped: 0, rejected: 0, malformed: 0, codes: { rejected: {}, skipped: {} }, files: [], durationMs: 0, recordsPerSecond: 0 };
  const { pipeline, nowMs } = o;
  for (const path of o.paths) {
    const input = await openBatch(ctx, path, pipeline.ruleset, o.inputFormat);
    s.files.push(input.name);
    const showProgress = o.progress ?? !!ctx.stderr.isTTY;
    const progress = showProgress ? new Progress(ctx.stderr, input.bytesRead, input.size).start() : undefined;
    try {
      for await (const batch of input.batches) {
        for (let i = 0; i < batch.length; i++) {
          const item = batch[i];
          let result: PipelineResult | Promise<PipelineResult>;
          if (item.ok) {
            result = pipeline.processMaybeSync(item.record, nowMs);
            if (result instanceof Promise) result = await result;
          } else result = malformed(item, pipeline.version);
          s.records++;
          if (result.verdict === 'accepted') s.accepted++;
          else if (result.verdict === 'skipped') {
            s.skipped++;
            s.codes.skipped[result.code] = (s.codes.skipped[result.code] ?? 0) + 1;
          } else {
            s.rejected++;
            if (!item.ok) s.malformed++;
            for (const code of new Set(result.errors.map((e) => e.code))) s.codes.rejected[code] = (s.codes.rejected[code] ?? 0) + 1;
          }
          const wait = onJudged({ file: input.name, item, result });
          if (wait) await wait;
        }
        if (progress) progress.records = s.records;
      }
    } finally {
      progress?.stop();
    }
  }
  s.durationMs = Math.round(performance.now() - started);
  s.recordsPerSecond = s.durationMs > 0 ? Math.round((s.records / s.durationMs) * 1000) : s.records;
  return s;
}

/** A line that is not a record is rejected like a record would be, with the MALFORMED code. */
export function malformed(item: RecordItem & { ok: false }, version: string): RejectedResult {
  const where = itemPosition(item);
  return { verdict: 'rejected', errors: [{ code: PipelineCodes.MALFORMED, message: `${where ? `${where}: ` : ''}${item.error}` }], rulesetVersion: version };
}

export function summaryLines(s: Summary): string[] {
  const lines = [`${plural(s.records, 'record')}: ${num(s.accepted)} accepted, ${num(s.skipped)} skipped, ${num(s.rejected)} rejected${s.malformed ? ` (${num(s.malformed)} malformed)` : ''}`];
  const rows: string[][] = [];
  for (const [verdict, codes] of [
    ['rejected', s.codes.rejected],
    ['skipped', s.codes.skipped],
  ] as const) {
    const sorted = Object.entries(codes).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    sorted.forEach(([code, n], i) => rows.push([i === 0 ? verdict : '', code, num(n)]));
  }
  if (rows.length) {
    const w0 = Math.max(...rows.map((r) => r[0].length));
    const w1 = Math.max(...rows.map((r) => r[1].length));
    const w2 = Math.max(...rows.map((r) => r[2].length));
    for (const r of rows) lines.push(`  ${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2].padStart(w2)}`);
  }
  return lines;
}
