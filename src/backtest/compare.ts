/**
 * What a ruleset change does to real records: the same records through the base and the head pipeline,
 * compared record by record. Counts verdict/code transitions and output changes per field (each with a
 * few samples) and totals the quantity per SKU before and after. Memory: counters and samples only.
 */
import { jsonDiff, type DiffEntry } from '../testing/json-diff.ts';
import type { PipelineResult, Verdict } from '../types.ts';

export interface BacktestSample {
  file: string;
  line?: number;
  index?: number;
  id?: string;
  /** Field-level differences of the output (output changes only). */
  diff?: DiffEntry[];
  /** The reasons on each side (transitions only). */
  before?: string;
  after?: string;
}

export interface Transition {
  /** "accepted", "skipped ZERO_DURATION", "rejected TIME_TOO_OLD+UNKNOWN_CUSTOMER" */
  from: string;
  to: string;
  count: number;
  samples: BacktestSample[];
}

export interface FieldChange {
  /** JSONPath of the output field, e.g. $.quantity */
  path: string;
  count: number;
  samples: BacktestSample[];
}

export interface BacktestReport {
  records: number;
  unchanged: number;
  verdicts: { before: Record<Verdict, number>; after: Record<Verdict, number> };
  transitions: Transition[];
  outputChanges: { records: number; fields: FieldChange[]; samples: BacktestSample[] };
  quantities: { sku: string; before: number; after: number }[];
}

export interface BacktestOptions {
  /** Samples kept per transition and per changed field. Default 5. */
  samples?: number;
  /** Dotted paths into the mapping output: the SKU and the quantity to total. Default "sku" and "quantity". */
  skuField?: string;
  quantityField?: string;
}

export interface Backtest {
  add(where: { file: string; line?: number; index?: number; id?: string }, before: PipelineResult, after: PipelineResult, target: string): void;
  report(): BacktestReport;
}

export function decisionOf(r: PipelineResult): string {
  if (r.verdict === 'accepted') return 'accepted';
  if (r.verdict === 'skipped') return `skipped ${r.code}`;
  return `rejected ${[...new Set(r.errors.map((e) => e.code))].sort().join('+')}`;
}

export function createBacktest(options: BacktestOptions = {}): Backtest {
  const max = options.samples ?? 5;
  const skuPath = (options.skuField ?? 'sku').split('.');
  const qtyPath = (options.quantityField ?? 'quantity').split('.');
  let records = 0;
  let unchanged = 0;
  const verdicts = { before: { accepted: 0, skipped: 0, rejected: 0 }, after: { accepted: 0, skipped: 0, rejected: 0 } };
  const transitions = new Map<string, Transition>();
  const fields = new Map<string, FieldChange>();
  const outputSamples: BacktestSample[] = [];
  let outputRecords = 0;
  const qty = new Map<string, { before: number; after: number }>();

  const addQuantity = (r: PipelineResult, target: string, side: 'before' | 'after') => {
    if (r.verdict !== 'accepted') return;
    const out = r.outputs[target];
    const sku = get(out, skuPath);
    const q = Number(get(out, qtyPath));
    if (sku === undefined || !Number.isFinite(q)) return;
    const k = String(sku);
    const e = qty.get(k) ?? { before: 0, after: 0 };
    e[side] += q;
    qty.set(k, e);
  };

  return {
    add(where, before, after, target) {
      records++;
      verdicts.before[before.verdict]++;
      verdicts.after[after.verdict]++;
      addQuantity(before, target, 'before');
      addQuantity(after, target, 'after');
      const from = decisionOf(before);
      const to = decisionOf(after);
      if (from !== to) {
        const key = `${from}\0${to}`;
        const t = transitions.get(key) ?? { from, to, count: 0, samples: [] };
        t.count++;
        if (t.samples.length < max) t.samples.push({ ...where, before: reasons(before), after: reasons(after) });
        transitions.set(key, t);
        return;
      }
      if (before.verdict === 'accepted' && after.verdict === 'accepted') {
        const diff = jsonDiff(before.outputs[target], after.outputs[target]);
        if (diff.length) {
          outputRecords++;
          const sample = { ...where, diff };
          if (outputSamples.length < max) outputSamples.push(sample);
          for (const d of diff) {
            const f = fields.get(d.path) ?? { path: d.path, count: 0, samples: [] };
            f.count++;
            if (f.samples.length < max) f.samples.push({ ...where, diff: [d] });
            fields.set(d.path, f);
          }
          return;
        }
      }
      unchanged++;
    },
    report() {
      return {
        records,
        unchanged,
        verdicts,
        transitions: [...transitions.values()].sort((a, b) => b.count - a.count || a.from.localeCompare(b.from) || a.to.localeCompare(b.to)),
        outputChanges: { records: outputRecords, fields: [...fields.values()].sort((a, b) => b.count - a.count || a.path.localeCompare(b.path)), samples: outputSamples },
        quantities: [...qty.entries()].map(([sku, q]) => ({ sku, before: round(q.before), after: round(q.after) })).sort((a, b) => a.sku.localeCompare(b.sku)),
      };
    },
  };
}

function reasons(r: PipelineResult): string {
  if (r.verdict === 'accepted') return 'accepted';
  if (r.verdict === 'skipped') return `${r.code}${r.rule ? ` (rule ${r.rule})` : ''}`;
  return r.errors.map((e) => `${e.code}${e.rule ? ` (rule ${e.rule})` : e.path ? ` (${e.path})` : ''}`).join(', ');
}

function get(v: unknown, path: string[]): unknown {
  let cur = v;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, k)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
