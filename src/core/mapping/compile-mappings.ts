import jsonata from 'jsonata';
import { compileJsonata, BAIL, type CompiledJsonata } from '../compile-jsonata.ts';
import { evaluateWithJsonata } from '../jsonata-guard.ts';
import type { Ruleset, MappingDef } from '../ruleset/types.ts';

export interface MappingLimits {
  /** Longest a mapping may run, in milliseconds (interpreted mappings only: compiled ones cannot loop). */
  timeoutMs: number;
  /** Deepest a mapping may recurse. */
  maxDepth: number;
  /** Monotonic clock for the time limit, injected so the core never reads one itself. */
  clock: () => number;
}

export interface CompiledMapping {
  def: MappingDef;
  /** True when the expression is compiled to plain functions (the interpreter is then only a fallback). */
  compiled: boolean;
  /** The result, or a promise of it when the interpreter had to run. Throws/rejects with a JSONata error object. */
  evaluate(input: unknown, bindings: Record<string, unknown>): unknown;
}

export function compileMapping(def: MappingDef, limits: MappingLimits, options: { compile: boolean }): CompiledMapping {
  const expr = jsonata(def.expression);
  const fast: CompiledJsonata | null = options.compile ? compileJsonata(def.expression) : null;
  const slow = (input: unknown, bindings: Record<string, unknown>) =>
    evaluateWithJsonata(expr, input, bindings, { timeoutMs: limits.timeoutMs, maxDepth: limits.maxDepth, now: limits.clock });
  if (!fast) return { def, compiled: false, evaluate: slow };
  return {
    def,
    compiled: true,
    evaluate(input, bindings) {
      const r = fast.evaluate(input, bindings);
      return r === BAIL ? slow(input, bindings) : r;
    },
  };
}

/** mappings[type][target] for the targets asked for. */
export function compileMappings(
  ruleset: Ruleset,
  targets: string[],
  limits: MappingLimits,
  options: { compile: boolean },
): Record<string, Record<string, CompiledMapping>> {
  const out: Record<string, Record<string, CompiledMapping>> = {};
  for (const type of Object.keys(ruleset.types)) {
    out[type] = {};
    for (const target of targets) {
      const def = ruleset.mappings[target]?.[type];
      if (def) out[type][target] = compileMapping(def, limits, options);
    }
  }
  return out;
}
