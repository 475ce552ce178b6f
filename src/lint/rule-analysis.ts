/**
 * What the record schemas and reference tables say about the rules: paths no record can have, columns
 * no table has, shared conditions nobody uses, and (never-fires.ts) rules that can never fire.
 */
import { locatePointer } from '../core/ruleset/locate.ts';
import { jsonPathKeys, type SchemaView, type SchemaWalker } from '../core/schema/walk-schema.ts';
import { satisfiable } from './never-fires.ts';
import { problem, didYouMean, type LintProblem } from './types.ts';
import type { ConditionJson, RuleDef, Ruleset } from '../core/ruleset/types.ts';

export interface RulesetModel {
  ruleset: Ruleset;
  walker: SchemaWalker;
  root(type: string): SchemaView;
  /** Columns of the reference table each lookup fact reads. */
  columns(fact: string): Set<string> | undefined;
  at(file: string, pointer: string): { line: number; column: number } | undefined;
}

export function createModel(ruleset: Ruleset, walker: SchemaWalker): RulesetModel {
  const roots = new Map<string, SchemaView>();
  const text = new Map(ruleset.files.map((f) => [f.path, f.content]));
  return {
    ruleset,
    walker,
    root(type) {
      let v = roots.get(type);
      if (!v) roots.set(type, (v = walker.root(ruleset.types[type].schema) ?? [[]]));
      return v;
    },
    columns(fact) {
      const def = ruleset.facts[fact];
      const table = def && ruleset.reference[def.lookup];
      if (!table) return undefined;
      const cols = new Set<string>();
      for (const row of table.rows) for (const k of Object.keys(row)) cols.add(k);
      return cols;
    },
    at(file, pointer) {
      const t = text.get(file);
      return t === undefined ? undefined : locatePointer(t, pointer);
    },
  };
}

/** The record types each rule runs for. */
export function typesOfRules(ruleset: Ruleset): Map<RuleDef, string[]> {
  const out = new Map<RuleDef, string[]>();
  const all = Object.keys(ruleset.types);
  for (const r of ruleset.commonRules) out.set(r, all);
  for (const [type, def] of Object.entries(ruleset.types)) for (const r of def.rules) if (!ruleset.commonRules.includes(r)) out.set(r, [...(out.get(r) ?? []), type]);
  return out;
}

/** unknown-path, unknown-column and never-fires for every rule; unused shared conditions. */
export function analyseRules(model: RulesetModel, out: LintProblem[]): { factsUsed: Set<string> } {
  const { ruleset } = model;
  const ruleTypes = typesOfRules(ruleset);
  const factsUsed = new Set<string>();
  const conditionsUsed = new Set<string>();
  const allTypes = Object.keys(ruleset.types);
  const sharedFile = sharedConditionFiles(ruleset);
  const visitPaths = (c: ConditionJson, file: string, pointer: string, types: string[]) => {
    for (const k of ['all', 'any'] as const) if (Array.isArray(c[k])) return c[k]!.forEach((s, i) => visitPaths(s, file, `${pointer}/${k}/${i}`, types));
    if (c.not) return visitPaths(c.not, file, `${pointer}/not`, types);
    if (c.condition !== undefined) {
      conditionsUsed.add(c.condition);
      return;
    }
    if (c.fact) {
      factsUsed.add(c.fact);
      checkFactPath(model, c.fact, c.path, types, file, `${pointer}/path`, out);
    }
    const v = c.value as { fact?: unknown; path?: unknown } | null;
    if (v !== null && typeof v === 'object' && typeof v.fact === 'string') {
      factsUsed.add(v.fact);
      checkFactPath(model, v.fact, typeof v.path === 'string' ? v.path : undefined, types, file, `${pointer}/value/path`, out);
    }
  };

  const rules = [...ruleTypes.keys()];
  for (const r of rules) {
    const types = ruleTypes.get(r)!;
    visitPaths(r.conditions, r.file, `${r.pointer}/conditions`, types);
    const sat = satisfiable(model, r.conditions, `${r.pointer}/conditions`, types, 0);
    if (!sat.ok) out.push(problem('never-fires', r.file, model.at(r.file, sat.pointer), `rule "${r.name}" can never fire: ${sat.reason}`));
  }
  // Shared conditions: paths checked once, against every type; conditions they use count as used.
  for (const [name, c] of Object.entries(ruleset.conditions)) {
    const file = sharedFile.get(name);
    if (file) visitPaths(c, file, `/conditions/${name}`, allTypes);
  }
  for (const name of Object.keys(ruleset.conditions)) {
    if (conditionsUsed.has(name)) continue;
    const file = sharedFile.get(name) ?? 'rules/manifest.json';
    out.push(problem('unused-condition', file, model.at(file, `/conditions/${name}`), `shared condition "${name}" is not used by any rule`));
  }
  return { factsUsed };
}

/** The rules file each shared condition is defined in (the Ruleset keeps only the conditions). */
function sharedConditionFiles(ruleset: Ruleset): Map<string, string> {
  const out = new Map<string, string>();
  const names = Object.keys(ruleset.conditions);
  if (!names.length) return out;
  for (const f of ruleset.files) {
    if (!f.path.startsWith('rules/') || !f.path.endsWith('.json') || f.path.startsWith('rules/tests/')) continue;
    try {
      const v = JSON.parse(f.content) as { conditions?: Record<string, unknown> };
      if (v && typeof v.conditions === 'object' && v.conditions) for (const n of names) if (!out.has(n) && Object.hasOwn(v.conditions, n)) out.set(n, f.path);
    } catch {
      // unreadable files are reported elsewhere
    }
  }
  return out;
}

function describeTypes(types: string[], all: number): string {
  if (types.length === all && all > 1) return 'any record type';
  return types.length === 1 ? types[0] : types.join(', ');
}

function checkFactPath(model: RulesetModel, fact: string, path: string | undefined, types: string[], file: string, pointer: string, out: LintProblem[]): void {
  if (!path) return;
  const keys = jsonPathKeys(path);
  if (!keys || keys.length === 0) return;
  const { ruleset, walker } = model;
  if (fact === 'data' || fact === 'record') {
    const full = fact === 'data' ? ['data', ...keys] : keys;
    const results = types.map((t) => walker.walk(model.root(t), full));
    if (results.length === 0 || results.some((r) => r.kind !== 'missing')) return;
    const r0 = results[0] as { kind: 'missing'; known: string[]; at?: number };
    const at = r0.at ?? 0;
    const parent = full.slice(0, at).join('.') || 'the record';
    out.push(
      problem(
        'unknown-path',
        file,
        model.at(file, pointer),
        `${fact} ${path}: "${full[at]}" is not a property of ${parent} in ${describeTypes(types, Object.keys(ruleset.types).length)}${didYouMean(full[at], r0.known)}${r0.known.length ? ` (known: ${r0.known.join(', ')})` : ''}`,
      ),
    );
    return;
  }
  const cols = model.columns(fact);
  if (cols && cols.size && keys[0] !== '[]' && !cols.has(keys[0])) {
    const table = ruleset.facts[fact].lookup;
    out.push(problem('unknown-column', file, model.at(file, pointer), `${fact} ${path}: no row of reference table "${table}" has a "${keys[0]}" column${didYouMean(keys[0], cols)} (columns: ${[...cols].join(', ')})`));
  }
}
