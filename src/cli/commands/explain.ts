import type { Command } from 'commander';
import { createPipeline } from '../../pipeline.ts';
import { parseJsonFile, locatePointer } from '../../core/ruleset/locate.ts';
import { addOptions, resolveOptions } from '../config.ts';
import { loadRulesetFrom, nowMs, readText } from '../shared.ts';
import { displayPaths } from '../paths.ts';
import { describeError } from '../describe.ts';
import { FAIL, OK, inline, println, printJson } from '../output.ts';
import { markFailed, type CliContext } from '../context.ts';
import type { Explanation } from '../../core/pipeline.ts';
import type { ConditionNodeTrace } from '../../core/rules/compile-rules.ts';
import type { Ruleset } from '../../core/ruleset/types.ts';

const OPTIONS = ['rules', 'mappings', 'now', 'format', 'target'] as const;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('explain')
    .description('show the whole decision for one record: schema, every rule and condition, events, mapping output')
    .argument('<record>', 'a JSON file holding one record, or "-" for stdin');
  addOptions(cmd, OPTIONS);
  cmd.addHelpText(
    'after',
    `
Rules are listed in the order they run (priority, then as written), each condition with the value the
fact had, the operator, the value compared with, and the outcome (${OK} held, ${FAIL} did not).
Exit code: 0 accepted or skipped, 1 rejected, 2 the record is not JSON or the ruleset does not load.

Example:
  $ bilhetagem explain examples/record.json --now 2026-11-25T12:00:00Z
  $ echo '{"type":"sms.sent"}' | bilhetagem explain - --format json`,
  );
  cmd.action(async (file: string) => {
    const o = resolveOptions(cmd, OPTIONS, ctx.env, ctx.cwd);
    const now = nowMs(o.now);
    const ruleset = await loadRulesetFrom(ctx, o);
    const record = parseJsonFile(file === '-' ? '<stdin>' : file, await readText(ctx, file));
    const target = o.target ?? ruleset.defaultTarget;
    const pipeline = createPipeline(ruleset, { targets: [...new Set([ruleset.defaultTarget, target])] });
    const exp = await pipeline.explain(record, { now });
    if (o.format === 'json') printJson(ctx.stdout, { now: new Date(now).toISOString(), target, ...exp });
    else printExplanation(ctx, record, exp, ruleset, now, target, displayPaths(ctx.cwd, o));
    if (exp.result.verdict === 'rejected') markFailed(ctx);
  });
}

function printExplanation(ctx: CliContext, record: unknown, exp: Explanation, ruleset: Ruleset, now: number, target: string, show: (f: string) => string): void {
  const out = (line = '') => println(ctx.stdout, line);
  const r = record as { id?: unknown; source?: unknown } | null;
  if (r && typeof r === 'object' && !Array.isArray(r)) out(`record  ${inline(r.id ?? null)} from ${inline(r.source ?? null)}`);
  out(`ruleset ${exp.rulesetVersion}, now ${new Date(now).toISOString()}`);
  out(`type    ${exp.type === undefined ? '(none)' : exp.type}${exp.knownType ? '' : '  (not a type of the manifest)'}`);
  const schemaFile = exp.type && ruleset.types[exp.type] ? ruleset.types[exp.type].schema : ruleset.envelope;
  out(`schema  ${exp.schema.valid ? `${OK} valid` : `${FAIL} invalid`}${schemaFile ? `  (${show(schemaFile)})` : ''}`);
  for (const e of exp.schema.errors) out(`          ${describeError(e)}`);

  if (exp.facts) {
    out();
    out('facts');
    const names = Object.keys(exp.facts).filter((k) => !['data', 'id', 'source', 'type', 'subject', 'time'].includes(k));
    const w = Math.max(...names.map((n) => n.length));
    for (const n of names) out(`  ${n.padEnd(w)}  ${inline(exp.facts[n], 140)}`);
  }

  if (exp.rules.length) {
    const text = new Map(ruleset.files.map((f) => [f.path, f.content]));
    const defs = new Map([...ruleset.commonRules, ...Object.values(ruleset.types).flatMap((t) => t.rules)].map((r) => [r.name, r]));
    out();
    out('rules, in the order they run');
    for (const r of exp.rules) {
      const def = defs.get(r.name);
      const line = def ? locatePointer(text.get(def.file) ?? '', def.pointer)?.line : undefined;
      const ev = r.event.type === 'reject' || r.event.type === 'skip' ? `${r.event.type} ${String(r.event.params?.code)}` : `annotate ${r.event.type}${r.event.params ? ` ${inline(r.event.params, 60)}` : ''}`;
      out(`  ${r.fired ? OK : FAIL} ${r.name}  → ${ev}${r.fired ? '  (fired)' : ''}   priority ${r.priority}, ${show(r.file)}:${line ?? 1}`);
      printTrace(out, r.conditions, '      ');
    }
  }

  out();
  const res = exp.result;
  if (res.verdict === 'accepted') {
    out(`result  ${OK} accepted`);
    for (const a of res.annotations) out(`  annotation ${a.type}${a.params ? ` ${inline(a.params)}` : ''}${a.rule ? `  (rule ${a.rule})` : ''}`);
    out(`  output (${target}):`);
    for (const l of JSON.stringify(res.outputs[target], null, 2).split('\n')) out(`    ${l}`);
  } else if (res.verdict === 'skipped') {
    out(`result  skipped  ${res.code}  ${res.message}${res.rule ? `  (rule ${res.rule})` : ''}`);
  } else {
    out(`result  ${FAIL} rejected`);
    for (const e of res.errors) out(`  ${describeError(e)}`);
  }
}

function printTrace(out: (l: string) => void, t: ConditionNodeTrace | { kind: 'not-evaluated' }, indent: string): void {
  switch (t.kind) {
    case 'not-evaluated':
      out(`${indent}· not evaluated (a higher-priority condition already decided)`);
      return;
    case 'fact': {
      const what = `${t.fact}${t.path ? ` ${t.path}` : ''}`;
      const ref = t.value !== null && typeof t.value === 'object' && Object.hasOwn(t.value, 'fact') ? ` (${inline(t.value, 60)})` : '';
      out(`${indent}${t.result ? OK : FAIL} ${what} ${t.operator} ${inline(t.compareValue, 80)}${ref}   ${what} = ${inline(t.factValue ?? null, 100)}`);
      return;
    }
    case 'all':
    case 'any':
      out(`${indent}${t.result ? OK : FAIL} ${t.kind}`);
      for (const c of t.children) printTrace(out, c, `${indent}    `);
      return;
    case 'not':
      out(`${indent}${t.result ? OK : FAIL} not`);
      printTrace(out, t.child, `${indent}    `);
      return;
    case 'condition':
      out(`${indent}${t.result ? OK : FAIL} condition "${t.name}"`);
      printTrace(out, t.child, `${indent}    `);
  }
}
