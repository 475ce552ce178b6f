/**
 * What a test run exercised, from `pipeline.explain()` traces: per rule whether it was ever true and
 * ever false, the same per leaf condition (inside shared conditions too), per mapping how often it ran
 * and which branch of each `? :` was taken, and which codes the results carried.
 */
import { locatePointer } from '../core/ruleset/locate.ts';
import { expressionLocator } from '../lint/expression-position.ts';
import { findConditionals, type Conditional } from './mapping-branches.ts';
import { mappingBindings } from '../core/mapping/bindings.ts';
import type { Explanation } from '../core/pipeline.ts';
import type { ConditionNodeTrace } from '../core/rules/compile-rules.ts';
import type { ConditionJson, RuleDef, Ruleset } from '../core/ruleset/types.ts';
import type { PipelineResult } from '../types.ts';

export interface Outcomes {
  true: number;
  false: number;
}

export interface ConditionCoverage extends Outcomes {
  /** Where in the rule's conditions: all[1], any[0].not, condition:name.all[0] */
  at: string;
  label: string;
  file: string;
  line?: number;
}

export interface RuleCoverage extends Outcomes {
  name: string;
  file: string;
  line?: number;
  conditions: ConditionCoverage[];
}

export interface BranchCoverage {
  line?: number;
  column?: number;
  condition: string;
  /** false when the condition could not be printed back to JSONata and evaluated: only `ran` is known. */
  traced: boolean;
  then: number;
  else: number;
  hasElse: boolean;
}

export interface MappingCoverage {
  target: string;
  type: string;
  file: string;
  ran: number;
  branches: BranchCoverage[];
}

export interface CoverageReport {
  rules: RuleCoverage[];
  mappings: MappingCoverage[];
  /** Every code the ruleset can give, with how many test results carried it. */
  codes: Record<string, number>;
  totals: {
    rules: { covered: number; total: number };
    conditions: { covered: number; total: number };
    branches: { covered: number; total: number };
    /** Rule and condition outcomes covered, in percent. */
    percent: number;
  };
}

interface MappingEntry extends MappingCoverage {
  conditionals: Conditional[];
}

export interface CoverageCollector {
  add(explanation: Explanation, record: unknown, nowMs: number): Promise<void>;
  report(): CoverageReport;
}

export function createCoverage(ruleset: Ruleset): CoverageCollector {
  const text = new Map(ruleset.files.map((f) => [f.path, f.content]));
  const at = (file: string, pointer: string) => {
    const t = text.get(file);
    return t === undefined ? undefined : locatePointer(t, pointer)?.line;
  };
  const rules = new Map<string, RuleCoverage & { index: Map<string, ConditionCoverage> }>();
  const allRules: RuleDef[] = [...ruleset.commonRules, ...Object.values(ruleset.types).flatMap((t) => t.rules)];
  for (const r of allRules) {
    if (rules.has(r.name)) continue;
    const conditions: ConditionCoverage[] = [];
    leaves(r.conditions, '', ruleset.conditions, 0, (id, c, pointer) => conditions.push({ at: id, label: label(c), file: r.file, line: pointer !== undefined ? at(r.file, `${r.pointer}/conditions${pointer}`) : undefined, true: 0, false: 0 }));
    rules.set(r.name, { name: r.name, file: r.file, line: at(r.file, r.pointer), true: 0, false: 0, conditions, index: new Map(conditions.map((c) => [c.at, c])) });
  }
  const codes: Record<string, number> = {};
  for (const r of allRules) if (r.event.type === 'reject' || r.event.type === 'skip') codes[String(r.event.params?.code)] = 0;
  codes[ruleset.unknownType.code] = 0;
  codes.SCHEMA_VIOLATION = 0;

  const mappings: MappingEntry[] = [];
  for (const [target, byType] of Object.entries(ruleset.mappings)) {
    for (const [type, def] of Object.entries(byType)) {
      let conditionals: Conditional[] = [];
      try {
        conditionals = findConditionals(def.expression);
      } catch {
        conditionals = [];
      }
      const locate = expressionLocator(text.get(def.file) ?? '');
      const branches = conditionals.map((c) => {
        const pos = locate(Math.max(0, c.position - 1));
        return { line: pos?.line, column: pos?.column, condition: c.condition, traced: !!c.probe, then: 0, else: 0, hasElse: c.hasElse };
      });
      mappings.push({ target, type, file: def.file, ran: 0, branches, conditionals });
    }
  }
  const lookupNames = Object.keys(ruleset.facts);

  return {
    async add(exp, record, nowMs) {
      for (const r of exp.rules) {
        const cov = rules.get(r.name);
        if (!cov) continue;
        if (r.fired) cov.true++;
        else cov.false++;
        walkTrace(r.conditions, '', (id, result) => {
          const c = cov.index.get(id);
          if (c) c[result ? 'true' : 'false']++;
        });
      }
      countCodes(exp.result, codes);
      if (exp.result.verdict !== 'accepted' || !exp.type) return;
      // The bindings the pipeline gives mappings.
      const bindings = mappingBindings(exp.facts ?? {}, exp.result.annotations, new Date(nowMs).toISOString(), lookupNames);
      for (const m of mappings) {
        if (m.type !== exp.type || !Object.hasOwn(exp.result.outputs, m.target)) continue;
        m.ran++;
        for (let i = 0; i < m.conditionals.length; i++) {
          const probe = m.conditionals[i].probe;
          if (!probe) continue;
          try {
            const branch = await probe.evaluate(record, bindings);
            if (branch === 'then') m.branches[i].then++;
            else if (branch === 'else') m.branches[i].else++;
          } catch {
            m.branches[i].traced = false;
          }
        }
      }
    },
    report() {
      const ruleList = [...rules.values()].map(({ index: _index, ...r }) => r);
      const ruleTotal = { covered: 0, total: 0 };
      const condTotal = { covered: 0, total: 0 };
      for (const r of ruleList) {
        ruleTotal.total += 2;
        ruleTotal.covered += (r.true > 0 ? 1 : 0) + (r.false > 0 ? 1 : 0);
        for (const c of r.conditions) {
          condTotal.total += 2;
          condTotal.covered += (c.true > 0 ? 1 : 0) + (c.false > 0 ? 1 : 0);
        }
      }
      const branchTotal = { covered: 0, total: 0 };
      for (const m of mappings) {
        for (const b of m.branches) {
          if (!b.traced) continue;
          branchTotal.total += b.hasElse ? 2 : 1;
          branchTotal.covered += (b.then > 0 ? 1 : 0) + (b.hasElse && b.else > 0 ? 1 : 0);
        }
      }
      const total = ruleTotal.total + condTotal.total;
      return {
        rules: ruleList,
        mappings: mappings.map(({ conditionals: _c, ...m }) => m),
        codes,
        totals: {
          rules: ruleTotal,
          conditions: condTotal,
          branches: branchTotal,
          percent: total ? Math.floor(((ruleTotal.covered + condTotal.covered) / total) * 1000) / 10 : 100,
        },
      };
    },
  };
}

function countCodes(result: PipelineResult, codes: Record<string, number>): void {
  const seen = result.verdict === 'rejected' ? new Set(result.errors.map((e) => e.code)) : result.verdict === 'skipped' ? new Set([result.code]) : new Set<string>();
  for (const c of seen) codes[c] = (codes[c] ?? 0) + 1;
}

/** Leaves of a condition tree, ids matching walkTrace's; shared conditions are followed (not their own pointers). */
function leaves(c: ConditionJson, id: string, shared: Record<string, ConditionJson>, depth: number, out: (id: string, leaf: ConditionJson, pointer: string | undefined) => void, pointer: string | undefined = ''): void {
  if (depth > 16) return;
  const join = (s: string) => (id ? `${id}.${s}` : s);
  for (const k of ['all', 'any'] as const) {
    if (Array.isArray(c[k])) return c[k]!.forEach((s, i) => leaves(s, join(`${k}[${i}]`), shared, depth + 1, out, pointer === undefined ? undefined : `${pointer}/${k}/${i}`));
  }
  if (c.not) return leaves(c.not, join('not'), shared, depth + 1, out, pointer === undefined ? undefined : `${pointer}/not`);
  if (c.condition !== undefined) {
    const s = shared[c.condition];
    if (s) leaves(s, join(`condition:${c.condition}`), shared, depth + 1, out, undefined);
    return;
  }
  out(id || 'leaf', c, pointer);
}

function walkTrace(t: ConditionNodeTrace | { kind: 'not-evaluated' }, id: string, visit: (id: string, result: boolean) => void): void {
  const join = (s: string) => (id ? `${id}.${s}` : s);
  switch (t.kind) {
    case 'fact':
      visit(id || 'leaf', t.result);
      return;
    case 'all':
    case 'any':
      t.children.forEach((ch, i) => walkTrace(ch, join(`${t.kind}[${i}]`), visit));
      return;
    case 'not':
      walkTrace(t.child, join('not'), visit);
      return;
    case 'condition':
      walkTrace(t.child, join(`condition:${t.name}`), visit);
      return;
    default:
  }
}

function label(c: ConditionJson): string {
  const v = c.value !== null && typeof c.value === 'object' && Object.hasOwn(c.value, 'fact') ? `fact ${(c.value as { fact: string }).fact}` : JSON.stringify(c.value);
  return `${c.fact}${c.path ? ` ${c.path}` : ''} ${c.operator} ${v}`;
}
