import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createPipeline, type Pipeline } from '../../pipeline.ts';
import { loadRuleset } from '../../loaders/load-ruleset.ts';
import { parseRuleset } from '../../core/ruleset/parse-ruleset.ts';
import { BilhetagemError, ErrorCodes, OptionsError } from '../../errors.ts';
import { createBacktest, readRulesetFilesAtRef, type BacktestReport, type BacktestSample } from '../../backtest/index.ts';
import { addOptions, resolveOptions } from '../config.ts';
import { loadRulesetFrom, nowMs, openBatch } from '../shared.ts';
import { malformed } from '../batch.ts';
import { recordId, where } from '../describe.ts';
import { inline, num, plural, println, printJson, table } from '../output.ts';
import type { CliContext } from '../context.ts';
import type { Ruleset } from '../../core/ruleset/types.ts';

const OPTIONS = ['rules', 'mappings', 'base', 'baseMappings', 'now', 'format', 'inputFormat', 'target', 'samples', 'skuField', 'quantityField'] as const;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('backtest')
    .description('run the current and a base ruleset over the same records and report what the change does')
    .argument('<files...>', 'NDJSON, JSON array or CSV files, optionally gzipped; "-" reads stdin');
  addOptions(cmd, OPTIONS);
  cmd.addHelpText(
    'after',
    `
--base is a folder holding rules/ and mappings/, a rules folder (its mappings: --base-mappings, else
--mappings), or a git ref (HEAD, main, a tag, a commit): then the same --rules and --mappings paths are
read at that ref with git show, without a checkout.
Reports records whose verdict or codes change (per transition, with --samples of them), records whose
output changes (per field), and the total quantity per SKU before and after.
Exit code: 0 when it ran (changes are the report, not a failure), 2 when it could not run.

Example:
  $ bilhetagem backtest --base HEAD examples/records.ndjson --now 2026-11-25T12:00:00Z
  $ bilhetagem backtest --base ../released examples/records.ndjson --samples 3`,
  );
  cmd.action(async (files: string[]) => {
    const o = resolveOptions(cmd, OPTIONS, ctx.env, ctx.cwd);
    if (!o.base) throw new OptionsError('backtest needs --base <dir|ref>: the ruleset to compare with', { option: 'base' });
    const now = nowMs(o.now);
    const head = await loadRulesetFrom(ctx, o);
    const { ruleset: base, label } = await loadBase(ctx, o.base, o);
    const target = o.target ?? head.defaultTarget;
    const pipelines = [base, head].map((rs, i) => {
      if (!rs.mappings[target]) throw new BilhetagemError(ErrorCodes.UNKNOWN_TARGET, `the ${i === 0 ? 'base' : 'current'} ruleset has no mappings for target "${target}"`, { details: { target } });
      return createPipeline(rs, { targets: [target] });
    }) as [Pipeline, Pipeline];
    const bt = createBacktest({ samples: o.samples, skuField: o.skuField, quantityField: o.quantityField });
    for (const path of files) {
      const input = await openBatch(ctx, path, head, o.inputFormat);
      for await (const batch of input.batches) {
        for (const item of batch) {
          let before;
          let after;
          if (item.ok) {
            before = pipelines[0].processMaybeSync(item.record, now);
            if (before instanceof Promise) before = await before;
            after = pipelines[1].processMaybeSync(item.record, now);
            if (after instanceof Promise) after = await after;
          } else {
            before = malformed(item, pipelines[0].version);
            after = malformed(item, pipelines[1].version);
          }
          bt.add({ file: input.name, line: item.line, index: item.index, id: recordId(item) }, before, after, target);
        }
      }
    }
    const report = bt.report();
    const meta = { base: { version: base.version, from: label }, head: { version: head.version, from: `${o.rules}, ${o.mappings}` }, target, files };
    if (o.format === 'json') printJson(ctx.stdout, { ...meta, ...report });
    else printReport(ctx, report, meta, o);
  });
}

async function loadBase(ctx: CliContext, base: string, o: { rules: string; mappings: string; baseMappings?: string }): Promise<{ ruleset: Ruleset; label: string }> {
  const dir = resolve(ctx.cwd, base);
  if (existsSync(dir) && statSync(dir).isDirectory()) {
    if (existsSync(join(dir, 'rules', 'manifest.json'))) {
      const mappings = o.baseMappings ? resolve(ctx.cwd, o.baseMappings) : join(dir, 'mappings');
      return { ruleset: await loadRuleset({ rules: join(dir, 'rules'), mappings }), label: `folder ${base}` };
    }
    if (existsSync(join(dir, 'manifest.json'))) {
      const mappings = resolve(ctx.cwd, o.baseMappings ?? o.mappings);
      return { ruleset: await loadRuleset({ rules: dir, mappings }), label: `folder ${base}` };
    }
    throw new OptionsError(`--base ${base} holds neither rules/manifest.json nor manifest.json`, { option: 'base' });
  }
  const files = await readRulesetFilesAtRef(base, { rules: resolve(ctx.cwd, o.rules), mappings: resolve(ctx.cwd, o.mappings) });
  return { ruleset: parseRuleset(files), label: `git ${base}` };
}

function printReport(
  ctx: CliContext,
  r: BacktestReport,
  meta: { base: { version: string; from: string }; head: { version: string; from: string }; target: string },
  o: { skuField: string; quantityField: string },
): void {
  const out = (l = '') => println(ctx.stdout, l);
  const sample = (s: BacktestSample) => `${where(s.file, s)}${s.id !== undefined ? ` ${s.id}` : ''}`;
  out(`backtest: ${plural(r.records, 'record')}, target ${meta.target}`);
  const v = (x: BacktestReport['verdicts']['before']) => [`accepted ${num(x.accepted)}`, `skipped ${num(x.skipped)}`, `rejected ${num(x.rejected)}`];
  for (const l of table(
    [
      ['before', meta.base.version, ...v(r.verdicts.before), meta.base.from],
      ['after', meta.head.version, ...v(r.verdicts.after), meta.head.from],
    ],
    '  ',
    'llrrrl',
  ))
    out(l);

  out();
  const flipped = r.transitions.reduce((n, t) => n + t.count, 0);
  out(`verdict changes: ${plural(flipped, 'record')}`);
  for (const t of r.transitions) {
    out(`  ${t.from} → ${t.to}   ${num(t.count)}`);
    for (const s of t.samples) out(`      ${sample(s)}: ${s.before} → ${s.after}`);
  }

  out();
  out(`output changes: ${plural(r.outputChanges.records, 'record')}`);
  for (const f of r.outputChanges.fields) {
    out(`  ${f.path}   ${num(f.count)}`);
    for (const s of f.samples) {
      const d = s.diff![0];
      const show = (x: unknown, present: boolean) => (present ? inline(x, 60) : '(absent)');
      out(`      ${sample(s)}: ${show(d.expected, d.kind !== 'unexpected')} → ${show(d.actual, d.kind !== 'missing')}`);
    }
  }

  out();
  out(`quantity per ${o.skuField} (${o.quantityField}, accepted records)`);
  const rows = [['', 'before', 'after', 'change']];
  for (const q of r.quantities) {
    const d = Math.round((q.after - q.before) * 1e6) / 1e6;
    const pct = q.before !== 0 ? ` (${d >= 0 ? '+' : ''}${((d / q.before) * 100).toFixed(1)}%)` : '';
    rows.push([q.sku, num(q.before), num(q.after), d === 0 ? '0' : `${d > 0 ? '+' : ''}${num(d)}${pct}`]);
  }
  for (const l of table(rows, '  ')) out(l);
  out();
  out(`unchanged: ${plural(r.unchanged, 'record')}`);
}
