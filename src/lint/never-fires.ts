/**
 * Rules that can never fire: conditions of one `all` on the same fact and path that contradict each other,
 * and comparisons no value the record schema allows can pass (outside an enum, a type or a range). The
 * analysis answers "may hold" for anything it does not understand, so it only speaks when it is sure.
 */
import { resolveOperator } from '../core/rules/operators.ts';
import { jsonPathKeys, typeAllows, type LeafInfo, type SchemaView } from '../core/schema/walk-schema.ts';
import type { ConditionJson } from '../core/ruleset/types.ts';
import type { RulesetModel } from './rule-analysis.ts';

export type Sat = { ok: true } | { ok: false; pointer: string; reason: string };
const RECORD_FIELDS = new Set(['id', 'source', 'type', 'subject', 'time']);
const OK: Sat = { ok: true };

interface Leaf {
  c: ConditionJson;
  pointer: string;
}

export function satisfiable(model: RulesetModel, c: ConditionJson, pointer: string, types: string[], depth: number): Sat {
  if (depth > 16) return OK;
  if (Array.isArray(c.all)) {
    for (let i = 0; i < c.all.length; i++) {
      const s = satisfiable(model, c.all[i], `${pointer}/all/${i}`, types, depth + 1);
      if (!s.ok) return s;
    }
    return conflicts(model, collectAll(c, pointer), types);
  }
  if (Array.isArray(c.any)) {
    if (c.any.length === 0) return OK;
    const results = c.any.map((s, i) => satisfiable(model, s, `${pointer}/any/${i}`, types, depth + 1));
    if (results.some((r) => r.ok)) return OK;
    const first = results[0] as { reason: string };
    return { ok: false, pointer, reason: `no alternative of "any" can hold (the first: ${first.reason})` };
  }
  if (c.not) return OK;
  if (c.condition !== undefined) {
    const shared = model.ruleset.conditions[c.condition];
    if (!shared) return OK;
    const s = satisfiable(model, shared, '', types, depth + 1);
    return s.ok ? OK : { ok: false, pointer: `${pointer}/condition`, reason: `shared condition "${c.condition}" can never hold: ${s.reason}` };
  }
  return leafSat(model, c, pointer, types);
}

/** The leaves that must all hold: this `all`'s leaf children and those of `all`s nested in it. */
function collectAll(c: ConditionJson, pointer: string, out: Leaf[] = []): Leaf[] {
  (c.all ?? []).forEach((s, i) => {
    const p = `${pointer}/all/${i}`;
    if (Array.isArray(s.all)) collectAll(s, p, out);
    else if (s.fact !== undefined) out.push({ c: s, pointer: p });
  });
  return out;
}

const isFactRef = (v: unknown) => v !== null && typeof v === 'object' && Object.hasOwn(v, 'fact');
const NUMERIC_OPS = new Set(['lessThan', 'lessThanInclusive', 'greaterThan', 'greaterThanInclusive']);

function fieldName(fact: string, path: string | undefined): string {
  return path ? `${fact}${path.slice(1)}` : fact;
}

/** What values a fact (at a path) can have, for the rule's types; undefined when unknown. */
function domain(model: RulesetModel, fact: string, path: string | undefined, types: string[]): LeafInfo | undefined {
  const { walker } = model;
  let keys: string[] | undefined;
  if (fact === 'data' || fact === 'record') {
    if (!path) return undefined;
    const k = jsonPathKeys(path);
    if (!k) return undefined;
    keys = fact === 'data' ? ['data', ...k] : k;
  } else if (RECORD_FIELDS.has(fact)) {
    if (path) return undefined;
    keys = [fact];
  } else if (fact === 'age_s' || fact === 'now_ms' || fact === 'time_ms') {
    return path ? undefined : { types: new Set(['number']) };
  } else return undefined;
  const views: SchemaView = [];
  for (const t of types) {
    const r = walker.walk(model.root(t), keys);
    if (r.kind === 'open') return undefined;
    if (r.kind === 'found') views.push(...r.view);
  }
  if (views.length === 0) return undefined;
  return walker.leaf(views);
}

function leafSat(model: RulesetModel, c: ConditionJson, pointer: string, types: string[]): Sat {
  const op = c.operator;
  const v = c.value;
  if (typeof op !== 'string' || isFactRef(v) || c.fact === undefined) return OK;
  const fn = resolveOperator(op);
  if (!fn) return OK;
  const field = fieldName(c.fact, c.path);
  if (op === 'equal' && v !== null && typeof v === 'object') {
    return { ok: false, pointer: `${pointer}/value`, reason: `${field} equal ${show(v)}: "equal" compares with ===, so an object or array value never matches` };
  }
  const d = domain(model, c.fact, c.path, types);
  if (!d) return OK;
  const fail = (why: string): Sat => ({ ok: false, pointer: `${pointer}/value`, reason: `${field} ${op} ${show(v)}, but ${field} ${why}` });
  if (d.values) {
    const holds = d.values.some((x) => {
      try {
        return fn(x, v);
      } catch {
        return true;
      }
    });
    return holds ? OK : fail(`is always one of ${show(d.values)}`);
  }
  if (op.includes(':')) return OK;
  const canBe = (x: unknown) => (!d.types || typeAllows(d.types, x)) && (typeof x !== 'number' || inRange(d, x));
  if (op === 'equal') {
    if (d.types && !typeAllows(d.types, v)) return fail(`is ${typeWords(d.types)}`);
    if (typeof v === 'number' && !inRange(d, v)) return fail(`is ${rangeWords(d)}`);
    return OK;
  }
  if (op === 'in' && Array.isArray(v)) return v.some(canBe) ? OK : fail(d.types && !v.some((x) => typeAllows(d.types!, x)) ? `is ${typeWords(d.types)}` : `is ${rangeWords(d)}`);
  if (NUMERIC_OPS.has(op) && typeof v === 'number') {
    if (d.types && ![...d.types].some((t) => t === 'integer' || t === 'number' || t === 'string' || t === 'array')) return fail(`is ${typeWords(d.types)}, never a number`);
    if (d.types && [...d.types].every((t) => t === 'integer' || t === 'number') && !rangeAllows(d, op, v)) return fail(`is ${rangeWords(d)}`);
    return OK;
  }
  if ((op === 'startsWith' || op === 'endsWith' || op === 'matches') && d.types && !d.types.has('string')) return fail(`is ${typeWords(d.types)}, never a string`);
  return OK;
}

function inRange(d: LeafInfo, x: number): boolean {
  if (d.minimum !== undefined && x < d.minimum) return false;
  if (d.maximum !== undefined && x > d.maximum) return false;
  if (d.exclusiveMinimum !== undefined && x <= d.exclusiveMinimum) return false;
  if (d.exclusiveMaximum !== undefined && x >= d.exclusiveMaximum) return false;
  return true;
}

/** Whether some value inside the schema's range passes `x op v`. */
function rangeAllows(d: LeafInfo, op: string, v: number): boolean {
  const hi = Math.min(d.maximum ?? Infinity, d.exclusiveMaximum ?? Infinity);
  const hiOpen = d.exclusiveMaximum !== undefined && d.exclusiveMaximum <= (d.maximum ?? Infinity);
  const lo = Math.max(d.minimum ?? -Infinity, d.exclusiveMinimum ?? -Infinity);
  const loOpen = d.exclusiveMinimum !== undefined && d.exclusiveMinimum >= (d.minimum ?? -Infinity);
  switch (op) {
    case 'greaterThan':
      return hi > v;
    case 'greaterThanInclusive':
      return hiOpen ? hi > v : hi >= v;
    case 'lessThan':
      return lo < v;
    case 'lessThanInclusive':
      return loOpen ? lo < v : lo <= v;
    default:
      return true;
  }
}

function rangeWords(d: LeafInfo): string {
  const lo = d.minimum !== undefined ? `${d.minimum}` : d.exclusiveMinimum !== undefined ? `more than ${d.exclusiveMinimum}` : undefined;
  const hi = d.maximum !== undefined ? `${d.maximum}` : d.exclusiveMaximum !== undefined ? `less than ${d.exclusiveMaximum}` : undefined;
  if (lo !== undefined && hi !== undefined) return `between ${lo} and ${hi}`;
  if (lo !== undefined) return `at least ${lo}`;
  if (hi !== undefined) return `at most ${hi}`;
  return 'out of range';
}

function typeWords(types: Set<string>): string {
  if (types.size === 0) return 'never present';
  const a = (t: string) => (t === 'integer' || t === 'array' || t === 'object' ? `an ${t}` : t === 'null' ? 'null' : `a ${t}`);
  return [...types].map(a).join(' or ');
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}

/** Leaves of one `all` on the same fact and path that cannot hold together. */
function conflicts(model: RulesetModel, leaves: Leaf[], types: string[]): Sat {
  const groups = new Map<string, Leaf[]>();
  for (const l of leaves) {
    if (isFactRef(l.c.value) || typeof l.c.operator !== 'string' || l.c.operator.includes(':')) continue;
    const k = `${l.c.fact}\0${l.c.path ?? ''}`;
    groups.set(k, [...(groups.get(k) ?? []), l]);
  }
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const field = fieldName(group[0].c.fact!, group[0].c.path);
    const eq = group.find((l) => l.c.operator === 'equal');
    if (eq) {
      for (const l of group) {
        if (l === eq) continue;
        const fn = resolveOperator(l.c.operator!);
        let holds = true;
        try {
          holds = !fn || fn(eq.c.value, l.c.value);
        } catch {
          holds = true;
        }
        if (!holds) return { ok: false, pointer: l.pointer, reason: `${field} cannot be ${show(eq.c.value)} (equal) and ${l.c.operator} ${show(l.c.value)} at once` };
      }
    }
    // Numeric bounds from lessThan/greaterThan with number literals, intersected with the schema's range.
    const d = domain(model, group[0].c.fact!, group[0].c.path, types);
    let lo = d?.minimum ?? -Infinity;
    let loOpen = false;
    let hi = d?.maximum ?? Infinity;
    let hiOpen = false;
    let loLeaf: Leaf | undefined;
    let hiLeaf: Leaf | undefined;
    for (const l of group) {
      const v = l.c.value;
      if (typeof v !== 'number') continue;
      const op = l.c.operator;
      if ((op === 'greaterThan' && v >= lo) || (op === 'greaterThanInclusive' && v > lo)) {
        lo = v;
        loOpen = op === 'greaterThan';
        loLeaf = l;
      } else if ((op === 'lessThan' && v <= hi) || (op === 'lessThanInclusive' && v < hi)) {
        hi = v;
        hiOpen = op === 'lessThan';
        hiLeaf = l;
      }
      if (lo > hi || (lo === hi && (loOpen || hiOpen))) {
        const other = l === loLeaf ? hiLeaf : loLeaf;
        const first = other ? `${other.c.operator} ${show(other.c.value)}` : `within its schema's range (${rangeWords(d ?? {})})`;
        return { ok: false, pointer: l.pointer, reason: `${field} cannot be ${first} and ${l.c.operator} ${show(v)} at once` };
      }
    }
  }
  return OK;
}
