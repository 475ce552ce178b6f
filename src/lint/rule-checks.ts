/**
 * Checks on the rules files as written, each problem reported (loading stops at the first): unknown
 * operators, facts and shared conditions, values an operator cannot use, duplicate names.
 */
import { locatePointer } from '../core/ruleset/locate.ts';
import { BUILTIN_FACTS } from '../core/facts.ts';
import { resolveOperator, OPERATOR_NAMES, DECORATOR_NAMES } from '../core/rules/operators.ts';
import { problem, didYouMean, type LintProblem } from './types.ts';
import type { LintFileKind, ParsedFiles } from './files.ts';
import type { ConditionJson } from '../core/ruleset/types.ts';

interface RulesFileJson {
  rules?: { name?: unknown; conditions?: ConditionJson }[];
  conditions?: Record<string, ConditionJson>;
}

export function checkRulesFiles(parsed: ParsedFiles, kinds: Map<string, LintFileKind>, out: LintProblem[]): void {
  const files = [...kinds].filter(([p, k]) => k === 'rules' && parsed.json.has(p)).map(([p]) => p);
  const factNames = new Set<string>([...BUILTIN_FACTS, ...Object.keys(parsed.manifest?.facts ?? {})]);
  const shared = new Map<string, string>();
  const ruleNames = new Map<string, string>();
  const at = (file: string, pointer: string) => locatePointer(parsed.text.get(file)!, pointer);

  for (const file of files) {
    const v = parsed.json.get(file) as RulesFileJson;
    if (!v || typeof v !== 'object') continue;
    for (const name of Object.keys(v.conditions && typeof v.conditions === 'object' ? v.conditions : {})) {
      const other = shared.get(name);
      if (other) out.push(problem('duplicate-rule', file, at(file, `/conditions/${name}`), `shared condition "${name}" is already defined in ${other}`));
      else shared.set(name, file);
    }
  }
  for (const file of files) {
    const v = parsed.json.get(file) as RulesFileJson;
    if (!v || typeof v !== 'object') continue;
    const rules = Array.isArray(v.rules) ? v.rules : [];
    rules.forEach((r, i) => {
      if (!r || typeof r !== 'object') return;
      if (typeof r.name === 'string') {
        const other = ruleNames.get(r.name);
        const where = at(file, `/rules/${i}/name`);
        if (other) out.push(problem('duplicate-rule', file, where, `rule name "${r.name}" is already used in ${other}`));
        else ruleNames.set(r.name, `${file}:${where?.line ?? 1}`);
      }
      if (r.conditions && typeof r.conditions === 'object') walk(r.conditions, file, `/rules/${i}/conditions`);
    });
    for (const [name, c] of Object.entries(v.conditions && typeof v.conditions === 'object' ? v.conditions : {})) {
      if (c && typeof c === 'object') walk(c, file, `/conditions/${name}`);
    }
  }

  function walk(c: ConditionJson, file: string, pointer: string): void {
    const report = (check: Parameters<typeof problem>[0], sub: string, message: string) => out.push(problem(check, file, at(file, pointer + sub), message));
    for (const k of ['all', 'any'] as const) {
      if (Array.isArray(c[k])) {
        c[k]!.forEach((s, i) => s && typeof s === 'object' && walk(s, file, `${pointer}/${k}/${i}`));
        return;
      }
    }
    if (c.not && typeof c.not === 'object') return walk(c.not, file, `${pointer}/not`);
    if (typeof c.condition === 'string') {
      if (!shared.has(c.condition)) report('unknown-condition', '/condition', `shared condition "${c.condition}" is not defined in any rules file's "conditions"${didYouMean(c.condition, shared.keys())}`);
      return;
    }
    if (typeof c.fact === 'string' && !factNames.has(c.fact)) {
      report('unknown-fact', '/fact', `unknown fact "${c.fact}"${didYouMean(c.fact, factNames)} (known: ${[...factNames].join(', ')})`);
    }
    if (typeof c.operator === 'string' && !resolveOperator(c.operator)) {
      const base = c.operator.slice(c.operator.lastIndexOf(':') + 1);
      report('unknown-operator', '/operator', `unknown operator "${c.operator}"${didYouMean(base, OPERATOR_NAMES)} (operators: ${OPERATOR_NAMES.join(', ')}; decorators: ${DECORATOR_NAMES.map((d) => `${d}:`).join(', ')})`);
    }
    const v = c.value;
    if (v !== null && typeof v === 'object' && Object.hasOwn(v, 'fact')) {
      const ref = (v as { fact: unknown }).fact;
      if (typeof ref !== 'string' || !factNames.has(ref)) report('unknown-fact', '/value/fact', `unknown fact "${String(ref)}"${typeof ref === 'string' ? didYouMean(ref, factNames) : ''}`);
    } else {
      if ((c.operator === 'in' || c.operator === 'notIn') && !Array.isArray(v) && typeof v !== 'string') report('invalid-condition', '/value', `operator "${c.operator}" needs an array value`);
      if (typeof c.operator === 'string' && c.operator.endsWith('matches') && typeof v === 'string') {
        try {
          new RegExp(v, 'u');
        } catch (e) {
          report('invalid-condition', '/value', `invalid regular expression: ${(e as Error).message}`);
        }
      }
    }
  }
}
