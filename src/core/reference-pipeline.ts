import { Engine, Operator } from 'json-rules-engine';
import jsonata from 'jsonata';
import { compileSchemas, schemaErrors } from './schema/compile-schemas.ts';
import { createFactResolver } from './facts.ts';
import { mappingBindings } from './mapping/bindings.ts';
import { EXTRA_OPERATORS } from './rules/operators.ts';
import { PipelineCodes } from './codes.ts';
import { evaluateWithJsonata } from './jsonata-guard.ts';
import type { Ruleset, RuleDef } from './ruleset/types.ts';
import type { Annotation, PipelineResult, RejectionError } from '../types.ts';
import type { MappingLimits } from './mapping/compile-mappings.ts';

/**
 * The naive glue, kept on purpose: ajv + json-rules-engine `engine.run` + jsonata `evaluate` per record,
 * with the same verdict rules as the compiled pipeline. It is the reference semantics the differential
 * test holds the compiled pipeline to, and the baseline `npm run bench` measures against.
 */
export function buildReferencePipeline(ruleset: Ruleset, options: { targets: string[]; limits: MappingLimits }) {
  const schemas = compileSchemas(ruleset);
  const resolveFacts = createFactResolver(ruleset);
  const version = ruleset.version;
  const engines = new Map<string, { engine: Engine; rules: RuleDef[] }>();
  for (const [type, def] of Object.entries(ruleset.types)) {
    const engine = new Engine([], { allowUndefinedFacts: true });
    for (const [name, op] of Object.entries(EXTRA_OPERATORS)) engine.addOperator(new Operator(name, op.cb, op.validator));
    for (const [name, cond] of Object.entries(ruleset.conditions)) engine.setCondition(name, cond as any);
    const rules = [...ruleset.commonRules, ...def.rules];
    for (const r of rules) engine.addRule({ name: r.name, priority: r.priority ?? 1, conditions: r.conditions as any, event: r.event });
    engines.set(type, { engine, rules });
  }
  const expressions = new Map<string, ReturnType<typeof jsonata>>();
  const expr = (type: string, target: string) => {
    const key = `${target}\0${type}`;
    let e = expressions.get(key);
    if (!e) {
      e = jsonata(ruleset.mappings[target][type].expression);
      expressions.set(key, e);
    }
    return e;
  };
  const rejected = (errors: RejectionError[]): PipelineResult => ({ verdict: 'rejected', errors, rulesetVersion: version });

  return {
    version,
    async run(record: unknown, nowMs: number): Promise<PipelineResult> {
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        return rejected([{ code: PipelineCodes.NOT_AN_OBJECT, message: 'a record must be a JSON object', path: '/' }]);
      }
      const type = (record as { type?: unknown }).type;
      const entry = typeof type === 'string' && Object.hasOwn(ruleset.types, type) ? engines.get(type) : undefined;
      if (!entry) {
        const errors: RejectionError[] = [{ code: ruleset.unknownType.code, message: ruleset.unknownType.message, path: '/type' }];
        if (schemas.envelope && !schemas.envelope(record)) errors.push(...schemaErrors(schemas.envelope.errors, record));
        return rejected(errors);
      }
      const validate = schemas.byType[type as string];
      if (!validate(record)) return rejected(schemaErrors(validate.errors, record));
      const facts = resolveFacts(record as Record<string, unknown>, nowMs);
      let results: { name?: string; result?: boolean; event?: { type: string; params?: Record<string, unknown> } }[];
      try {
        results = (await entry.engine.run(facts)).results as any;
      } catch (e) {
        return rejected([{ code: PipelineCodes.RULE_EVALUATION_FAILED, message: `a rule could not be evaluated: ${(e as Error).message}` }]);
      }
      // The engine reports successes in the order its promises settle; order them as the pipeline does.
      const index = new Map(entry.rules.map((r, i) => [r.name, i]));
      const fired = results
        .map((r) => entry.rules[index.get(r.name as string)!])
        .sort((a, b) => (b.priority ?? 1) - (a.priority ?? 1) || index.get(a.name)! - index.get(b.name)!);
      const rejects = fired.filter((r) => r.event.type === 'reject');
      if (rejects.length > 0) {
        return rejected(rejects.map((r) => ({ code: String(r.event.params!.code), message: String(r.event.params!.message), rule: r.name })));
      }
      const skip = fired.find((r) => r.event.type === 'skip');
      if (skip) return { verdict: 'skipped', code: String(skip.event.params!.code), message: String(skip.event.params!.message), rule: skip.name, rulesetVersion: version };
      const annotations: Annotation[] = fired
        .filter((r) => r.event.type !== 'reject' && r.event.type !== 'skip')
        .map((r) => (r.event.params ? { type: r.event.type, params: r.event.params, rule: r.name } : { type: r.event.type, rule: r.name }));
      const bindings = mappingBindings(facts, annotations, new Date(nowMs).toISOString(), resolveFacts.lookupNames);
      const outputs: Record<string, unknown> = {};
      for (const target of options.targets) {
        if (!ruleset.mappings[target]?.[type as string]) continue;
        try {
          const v = await evaluateWithJsonata(expr(type as string, target), record, bindings, {
            timeoutMs: options.limits.timeoutMs,
            maxDepth: options.limits.maxDepth,
            now: options.limits.clock,
          });
          outputs[target] = Array.isArray(v) && (v as any).sequence ? JSON.parse(JSON.stringify(v)) : v;
        } catch (e) {
          const err = e as { code?: string; message?: string };
          return rejected([{ code: PipelineCodes.MAPPING_FAILED, message: `mapping for target "${target}" failed: ${err.code ?? ''} ${err.message ?? ''}` }]);
        }
      }
      return { verdict: 'accepted', output: outputs[ruleset.defaultTarget], outputs, annotations, rulesetVersion: version };
    },
  };
}
