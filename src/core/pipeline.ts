import { compileSchemas, schemaErrors } from './schema/compile-schemas.ts';
import { compileRules, traceLeaves, type CompiledRuleSet, type ConditionNodeTrace, type LeafTrace } from './rules/compile-rules.ts';
import { compileMappings, type CompiledMapping, type MappingLimits } from './mapping/compile-mappings.ts';
import { createFactResolver, type Facts } from './facts.ts';
import { mappingBindings } from './mapping/bindings.ts';
import { PipelineCodes } from './codes.ts';
import type { Ruleset, RuleDef } from './ruleset/types.ts';
import type { Annotation, PipelineResult, RejectionError, ConditionTrace } from '../types.ts';
import type { ValidateFunction } from 'ajv';
import type { FastCheck } from './schema/fast-check.ts';

export interface CoreOptions {
  targets: string[];
  limits: MappingLimits;
  /** false: run every mapping in the JSONata interpreter (the reference semantics), never compiled. */
  compileMappings: boolean;
}

/** The whole decision for one record, for `explain` and the admin playground. */
export interface Explanation {
  rulesetVersion: string;
  type: string | undefined;
  knownType: boolean;
  schema: { valid: boolean; errors: RejectionError[] };
  facts?: Record<string, unknown>;
  rules: { name: string; file: string; priority: number; event: RuleDef['event']; fired: boolean; conditions: ConditionNodeTrace }[];
  result: PipelineResult;
}

interface TypePlan {
  validate: ValidateFunction | undefined;
  /** validate's verdict: the fast check (fast-check.ts) when it says valid, else ajv, whose errors are then in validate.errors. */
  valid: ((record: unknown) => boolean) | undefined;
  rules: CompiledRuleSet;
  mappings: [target: string, mapping: CompiledMapping][];
  known: boolean;
}

export interface CorePipeline {
  readonly ruleset: Ruleset;
  readonly version: string;
  readonly targets: string[];
  /** Synchronous when every mapping it needs is compiled; a promise when the interpreter runs. */
  run(record: unknown, nowMs: number): PipelineResult | Promise<PipelineResult>;
  explain(record: unknown, nowMs: number): Promise<Explanation>;
}

export function buildCorePipeline(ruleset: Ruleset, options: CoreOptions): CorePipeline {
  const schemas = compileSchemas(ruleset);
  const mappings = compileMappings(ruleset, options.targets, options.limits, { compile: options.compileMappings });
  const resolveFacts = createFactResolver(ruleset);
  const version = ruleset.version;
  const defaultTarget = ruleset.defaultTarget;
  const plans = new Map<string, TypePlan>();
  for (const [type, def] of Object.entries(ruleset.types)) {
    plans.set(type, {
      validate: schemas.byType[type],
      valid: validOf(schemas.byType[type], schemas.checks[type]),
      rules: compileRules([...ruleset.commonRules, ...def.rules], ruleset.conditions),
      mappings: Object.entries(mappings[type]),
      known: true,
    });
  }
  const unknownPlan: TypePlan = { validate: schemas.envelope, valid: schemas.envelope, rules: compileRules([], {}), mappings: [], known: false };
  const unknownTypeError = (type: unknown): RejectionError => ({
    code: ruleset.unknownType.code,
    message: `${ruleset.unknownType.message}: ${JSON.stringify(type)}`,
    path: '/type',
    expected: Object.keys(ruleset.types),
    actual: type,
  });

  const rejected = (errors: RejectionError[]): PipelineResult => ({ verdict: 'rejected', errors, rulesetVersion: version });

  const planFor = (record: unknown): TypePlan | undefined => {
    const type = (record as { type?: unknown }).type;
    return typeof type === 'string' ? plans.get(type) : undefined;
  };

  // Stages shared by run() and explain(); each returns a final result or what the next stage needs.
  interface Judged {
    result?: PipelineResult;
    plan?: TypePlan;
    facts?: Facts;
    fired?: number[];
    annotations?: Annotation[];
  }
  const judge = (record: unknown, nowMs: number): Judged => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      return { result: rejected([{ code: PipelineCodes.NOT_AN_OBJECT, message: `a record must be a JSON object, not ${describeType(record)}`, path: '/' }]) };
    }
    const plan = planFor(record) ?? unknownPlan;
    if (!plan.known) {
      const errors = [unknownTypeError((record as { type?: unknown }).type)];
      if (plan.validate && !plan.validate(record)) errors.push(...schemaErrors(plan.validate.errors, record));
      return { result: rejected(errors), plan };
    }
    if (plan.valid && !plan.valid(record)) return { result: rejected(schemaErrors(plan.validate!.errors, record)), plan };
    const facts = resolveFacts(record as Record<string, unknown>, nowMs);
    let fired: number[];
    try {
      fired = plan.rules.fired(facts);
    } catch (e) {
      return { result: rejected([{ code: PipelineCodes.RULE_EVALUATION_FAILED, message: `a rule could not be evaluated: ${(e as Error).message}` }]), plan, facts };
    }
    const v = settle(plan, facts, fired);
    return { ...v, plan, facts, fired };
  };

  /** The verdict from the rules that fired: every reject, else the first skip, else annotations for mapping. */
  const settle = (plan: TypePlan, facts: Facts, fired: number[]): { result?: PipelineResult; annotations?: Annotation[] } => {
    let errors: RejectionError[] | undefined;
    let skip: RuleDef | undefined;
    const annotations: Annotation[] = [];
    for (const i of fired) {
      const rule = plan.rules.rules[i];
      const ev = rule.def.event;
      if (ev.type === 'reject') (errors ??= []).push(ruleError(rule.def, rule.trace(facts)));
      else if (ev.type === 'skip') skip ??= rule.def;
      else annotations.push(ev.params ? { type: ev.type, params: ev.params, rule: rule.def.name } : { type: ev.type, rule: rule.def.name });
    }
    if (errors) return { result: rejected(errors) };
    if (skip) {
      const p = skip.event.params as { code: string; message: string };
      return { result: { verdict: 'skipped', code: p.code, message: p.message, rule: skip.name, rulesetVersion: version } };
    }
    return { annotations };
  };

  // "now" is the same for every record of a batch: format it once, not per record.
  let isoFor = Number.NaN;
  let iso = '';
  const nowIso = (nowMs: number) => {
    if (nowMs !== isoFor) {
      iso = new Date(nowMs).toISOString();
      isoFor = nowMs;
    }
    return iso;
  };

  const map = (record: unknown, plan: TypePlan, facts: Facts, annotations: Annotation[], nowMs: number): PipelineResult | Promise<PipelineResult> => {
    const bindings = mappingBindings(facts, annotations, nowIso(nowMs), resolveFacts.lookupNames);
    const outputs: Record<string, unknown> = {};
    let pending: Promise<unknown>[] | undefined;
    let pendingTargets: string[] | undefined;
    for (const [target, m] of plan.mappings) {
      let out: unknown;
      try {
        out = m.evaluate(record, bindings);
      } catch (e) {
        return mappingFailed(target, e);
      }
      if (out instanceof Promise) {
        (pending ??= []).push(out);
        (pendingTargets ??= []).push(target);
      } else outputs[target] = normalise(out);
    }
    const done = (): PipelineResult => ({ verdict: 'accepted', output: outputs[defaultTarget], outputs, annotations, rulesetVersion: version });
    if (!pending) return done();
    let failedTarget = '';
    return Promise.all(
      pending.map((p, i) =>
        p.then(
          (v) => {
            outputs[pendingTargets![i]] = normalise(v);
          },
          (e) => {
            failedTarget = pendingTargets![i];
            throw e;
          },
        ),
      ),
    ).then(done, (e) => mappingFailed(failedTarget, e));
  };

  const mappingFailed = (target: string, e: unknown): PipelineResult => {
    const err = e as { code?: string; message?: string; position?: number };
    return rejected([
      {
        code: PipelineCodes.MAPPING_FAILED,
        message: `mapping for target "${target}" failed: ${err.code ? `${err.code} ` : ''}${err.message ?? String(e)}`,
        ...(err.code ? { expected: 'a successful mapping', actual: err.code } : {}),
      },
    ]);
  };

  return {
    ruleset,
    version,
    targets: options.targets,
    // The hot path: judge() without its intermediate objects. explain() uses judge() for the details.
    run(record, nowMs) {
      if (record === null || typeof record !== 'object' || Array.isArray(record)) return judge(record, nowMs).result!;
      const type = (record as { type?: unknown }).type;
      const plan = typeof type === 'string' ? plans.get(type) : undefined;
      if (plan === undefined) return judge(record, nowMs).result!;
      if (plan.valid !== undefined && !plan.valid(record)) return rejected(schemaErrors(plan.validate!.errors, record));
      const facts = resolveFacts(record as Record<string, unknown>, nowMs);
      let fired: number[];
      try {
        fired = plan.rules.fired(facts);
      } catch {
        return judge(record, nowMs).result!;
      }
      if (fired.length === 0) return map(record, plan, facts, NO_FIRED, nowMs);
      const v = settle(plan, facts, fired);
      return v.result ?? map(record, plan, facts, v.annotations!, nowMs);
    },
    async explain(record, nowMs) {
      const j = judge(record, nowMs);
      const type = record !== null && typeof record === 'object' ? (record as { type?: unknown }).type : undefined;
      const plan = j.plan;
      const schemaFailed = j.result?.verdict === 'rejected' && !j.facts;
      const explanation: Explanation = {
        rulesetVersion: version,
        type: typeof type === 'string' ? type : undefined,
        knownType: plan?.known ?? false,
        schema: { valid: !!plan && !schemaFailed, errors: schemaFailed && j.result?.verdict === 'rejected' ? j.result.errors : [] },
        rules: [],
        result: j.result ?? (await map(record, j.plan!, j.facts!, j.annotations!, nowMs)),
      };
      if (j.facts && plan) {
        explanation.facts = Object.fromEntries(Object.entries(j.facts).filter(([k]) => k !== 'record'));
        const fired = new Set(j.fired ?? []);
        plan.rules.rules.forEach((r, i) => {
          let conditions: ConditionNodeTrace;
          try {
            conditions = r.trace(j.facts!);
          } catch (e) {
            conditions = { kind: 'fact', fact: '?', operator: '?', value: undefined, factValue: undefined, compareValue: (e as Error).message, result: false };
          }
          explanation.rules.push({ name: r.def.name, file: r.def.file, priority: r.priority, event: r.def.event, fired: fired.has(i), conditions });
        });
      }
      return explanation;
    },
  };
}

const NO_FIRED: Annotation[] = [];

function ruleError(rule: RuleDef, trace: ConditionNodeTrace): RejectionError {
  const p = rule.event.params as { code: string; message: string };
  const leaves = traceLeaves(trace);
  // The decisive condition: the last one that held (in an `all`, the most specific test comes last).
  const decisive: LeafTrace | undefined = leaves.findLast((l) => l.result) ?? leaves.at(-1);
  const err: RejectionError = { code: p.code, message: p.message, rule: rule.name };
  if (decisive) {
    const condition: ConditionTrace = {
      fact: decisive.fact,
      operator: decisive.operator,
      value: decisive.value,
      factValue: decisive.factValue,
      compareValue: decisive.compareValue,
      result: decisive.result,
    };
    if (decisive.path) condition.path = decisive.path;
    err.condition = condition;
    err.expected = { operator: decisive.operator, value: decisive.compareValue };
    err.actual = decisive.factValue === undefined ? null : decisive.factValue;
  }
  return err;
}


/** JSONata returns sequences (arrays with a `sequence` flag); outputs are plain JSON. */
function normalise(v: unknown): unknown {
  if (Array.isArray(v) && (v as { sequence?: boolean }).sequence) return JSON.parse(JSON.stringify(v));
  return v;
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/** A schema's verdict: the fast check's "valid" is final; anything else is ajv's call (and leaves its errors). */
function validOf(validate: ValidateFunction | undefined, check: FastCheck | undefined): ((record: unknown) => boolean) | undefined {
  if (validate === undefined || check === undefined) return validate;
  return (record) => check(record) || validate(record);
}
