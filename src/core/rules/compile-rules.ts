import { resolveOperator } from './operators.ts';
import { compilePath } from './fact-path.ts';
import type { ConditionJson, RuleDef } from '../ruleset/types.ts';
import type { Facts } from '../facts.ts';

/** What one leaf condition saw, for explanations. */
export interface LeafTrace {
  kind: 'fact';
  fact: string;
  path?: string;
  operator: string;
  value: unknown;
  factValue: unknown;
  compareValue: unknown;
  result: boolean;
}
export type ConditionNodeTrace =
  | LeafTrace
  | { kind: 'all' | 'any'; result: boolean; children: (ConditionNodeTrace | { kind: 'not-evaluated' })[] }
  | { kind: 'not'; result: boolean; child: ConditionNodeTrace }
  | { kind: 'condition'; name: string; result: boolean; child: ConditionNodeTrace };

type Evaluate = (facts: Facts) => boolean;
type Trace = (facts: Facts) => ConditionNodeTrace;

interface CompiledCondition {
  evaluate: Evaluate;
  trace: Trace;
  priority: number;
}

export interface CompiledRule {
  def: RuleDef;
  priority: number;
  evaluate: Evaluate;
  trace: Trace;
}

export interface CompiledRuleSet {
  /** Rules in the order json-rules-engine settles them: priority (high first), then as written. */
  rules: CompiledRule[];
  /** Indexes (into `rules`) of the rules whose conditions hold. Throws if a comparison throws, as the engine does. */
  fired(facts: Facts): number[];
}

/**
 * Compiles json-rules-engine rule JSON into closures with the engine's exact semantics:
 * - all/any group their children by priority (condition priority, default 1) and run groups high to low,
 *   stopping between groups as soon as the answer is known; inside a group every child is evaluated (the
 *   engine runs a group with Promise.all), so a comparison that throws throws here too;
 * - empty all/any are true; a single child is evaluated alone;
 * - `path` on a non-object fact value yields the value itself;
 * - a value `{ fact, path }` compares with another fact.
 */
export function compileRules(rules: RuleDef[], shared: Record<string, ConditionJson>): CompiledRuleSet {
  const sharedCache = new Map<string, CompiledCondition>();
  const compileShared = (name: string): CompiledCondition => {
    let c = sharedCache.get(name);
    if (!c) {
      // Placeholder first: a shared condition that refers to itself would otherwise recurse forever here.
      const slot: CompiledCondition = {
        evaluate: () => {
          throw new Error(`shared condition "${name}" refers to itself`);
        },
        trace: () => {
          throw new Error(`shared condition "${name}" refers to itself`);
        },
        priority: 1,
      };
      sharedCache.set(name, slot);
      c = compileCondition(shared[name], compileShared);
      sharedCache.set(name, c);
      slot.evaluate = c.evaluate;
      slot.trace = c.trace;
    }
    return c;
  };
  const compiled = rules.map((def, index) => {
    const c = compileCondition(def.conditions, compileShared);
    return { def, index, priority: def.priority ?? 1, evaluate: c.evaluate, trace: c.trace };
  });
  const ordered = [...compiled].sort((a, b) => b.priority - a.priority || a.index - b.index);
  const evals = ordered.map((r) => r.evaluate);
  return {
    rules: ordered.map(({ def, priority, evaluate, trace }) => ({ def, priority, evaluate, trace })),
    fired(facts) {
      const out: number[] = [];
      for (let i = 0; i < evals.length; i++) if (evals[i](facts)) out.push(i);
      return out;
    },
  };
}

function compileCondition(c: ConditionJson, shared: (name: string) => CompiledCondition): CompiledCondition {
  if (c.all || c.any) {
    const isAll = !!c.all;
    const children = (c.all ?? c.any)!.map((s) => compileCondition(s, shared));
    return { ...compileGroup(isAll, children), priority: parsePriority(c.priority) ?? 1 };
  }
  if (c.not) {
    const child = compileCondition(c.not, shared);
    return {
      evaluate: (f) => !child.evaluate(f),
      trace: (f) => {
        const t = child.trace(f);
        return { kind: 'not', result: !t.result, child: t };
      },
      priority: parsePriority(c.priority) ?? 1,
    };
  }
  if (c.condition !== undefined) {
    const name = c.condition;
    // Resolved lazily: shared conditions may be declared in any order.
    let target: CompiledCondition | undefined;
    const get = () => (target ??= shared(name));
    return {
      evaluate: (f) => get().evaluate(f),
      trace: (f) => {
        const t = get().trace(f);
        return { kind: 'condition', name, result: t.result, child: t };
      },
      priority: parsePriority(c.priority) ?? 1,
    };
  }
  return compileLeaf(c);
}

function parsePriority(p: unknown): number | undefined {
  const n = Number.parseInt(p as string, 10);
  return n ? n : undefined;
}

function compileGroup(isAll: boolean, children: CompiledCondition[]): { evaluate: Evaluate; trace: Trace } {
  const kind = isAll ? 'all' : 'any';
  if (children.length === 0) {
    return { evaluate: () => true, trace: () => ({ kind, result: true, children: [] }) };
  }
  if (children.length === 1) {
    const only = children[0];
    return {
      evaluate: only.evaluate,
      trace: (f) => {
        const t = only.trace(f);
        return { kind, result: t.result, children: [t] };
      },
    };
  }
  // Group children by priority, high to low, keeping their written order inside a group.
  const byPriority = new Map<number, number[]>();
  children.forEach((ch, i) => {
    const list = byPriority.get(ch.priority) ?? [];
    list.push(i);
    byPriority.set(ch.priority, list);
  });
  const sets = [...byPriority.entries()].sort((a, b) => b[0] - a[0]).map(([, idx]) => idx.map((i) => children[i].evaluate));
  const evaluate: Evaluate =
    sets.length === 1
      ? isAll
        ? allOf(sets[0])
        : anyOf(sets[0])
      : (f) => {
          for (const set of sets) {
            let hit = isAll;
            for (const e of set) {
              const r = e(f);
              if (isAll) hit = hit && r;
              else hit = hit || r;
            }
            if (isAll && !hit) return false;
            if (!isAll && hit) return true;
          }
          return isAll;
        };
  const order = [...byPriority.entries()].sort((a, b) => b[0] - a[0]).map(([, idx]) => idx);
  const trace: Trace = (f) => {
    const traces: (ConditionNodeTrace | { kind: 'not-evaluated' })[] = children.map(() => ({ kind: 'not-evaluated' as const }));
    let result = isAll;
    for (const idx of order) {
      let hit = isAll;
      for (const i of idx) {
        const t = children[i].trace(f);
        traces[i] = t;
        hit = isAll ? hit && t.result : hit || t.result;
      }
      if (isAll && !hit) {
        result = false;
        break;
      }
      if (!isAll && hit) {
        result = true;
        break;
      }
    }
    return { kind, result, children: traces };
  };
  return { evaluate, trace };
}

// Every child runs (no short-circuit inside a priority group), matching the engine's Promise.all.
function allOf(list: Evaluate[]): Evaluate {
  if (list.length === 2) {
    const [a, b] = list;
    return (f) => {
      const x = a(f);
      const y = b(f);
      return x && y;
    };
  }
  return (f) => {
    let ok = true;
    for (const e of list) if (!e(f)) ok = false;
    return ok;
  };
}
function anyOf(list: Evaluate[]): Evaluate {
  return (f) => {
    let ok = false;
    for (const e of list) if (e(f)) ok = true;
    return ok;
  };
}

function compileLeaf(c: ConditionJson): CompiledCondition {
  const fact = c.fact!;
  const op = resolveOperator(c.operator!);
  if (!op) throw new Error(`Unknown operator: ${c.operator}`);
  const readFact = compilePath(c.path);
  const v = c.value;
  let readValue: (f: Facts) => unknown;
  if (v !== null && typeof v === 'object' && Object.hasOwn(v, 'fact')) {
    const ref = v as { fact: string; path?: string };
    const readRef = compilePath(ref.path);
    readValue = (f) => readRef(f[ref.fact]);
  } else {
    readValue = () => v;
  }
  const evaluate: Evaluate = (f) => op(readFact(f[fact]), readValue(f)) === true;
  const trace: Trace = (f) => {
    const factValue = readFact(f[fact]);
    const compareValue = readValue(f);
    const result = op(factValue, compareValue) === true;
    const t: LeafTrace = { kind: 'fact', fact, operator: c.operator!, value: v, factValue, compareValue, result };
    if (c.path) t.path = c.path;
    return t;
  };
  return { evaluate, trace, priority: parsePriority(c.priority) ?? 1 };
}

/** Leaves of a trace that were evaluated, in order. */
export function traceLeaves(t: ConditionNodeTrace | { kind: 'not-evaluated' }, into: LeafTrace[] = []): LeafTrace[] {
  switch (t.kind) {
    case 'fact':
      into.push(t);
      break;
    case 'all':
    case 'any':
      for (const c of t.children) traceLeaves(c, into);
      break;
    case 'not':
    case 'condition':
      traceLeaves(t.child, into);
      break;
  }
  return into;
}
