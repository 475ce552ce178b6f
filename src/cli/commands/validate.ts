import type { Command } from 'commander';
import { createPipeline } from '../../pipeline.ts';
import { addOptions, resolveOptions } from '../config.ts';
import { loadRulesetFrom, nowMs } from '../shared.ts';
import { judgeBatches, summaryLines } from '../batch.ts';
import { describeError, recordId, where } from '../describe.ts';
import { println } from '../output.ts';
import { markFailed, type CliContext } from '../context.ts';

const OPTIONS = ['rules', 'mappings', 'now', 'format', 'inputFormat', 'progress'] as const;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('validate')
    .description('judge every record of batch files and report each rejection with its reasons')
    .argument('<files...>', 'NDJSON, JSON array or CSV files, optionally gzipped; "-" reads stdin');
  addOptions(cmd, OPTIONS);
  cmd.addHelpText(
    'after',
    `
Prints each rejected record (file:line, id, codes and reasons), then counts per verdict and code.
With --format json: one JSON object per line, {"type":"rejection",...} then {"type":"summary",...}.
Exit code: 0 when no record was rejected, 1 when one was, 2 when the command could not run.

Example:
  $ bilhetagem validate examples/records.ndjson --now 2026-11-25T12:00:00Z
  $ zcat big.ndjson.gz | bilhetagem validate - --format json`,
  );
  cmd.action(async (files: string[]) => {
    const o = resolveOptions(cmd, OPTIONS, ctx.env, ctx.cwd);
    const now = nowMs(o.now);
    const ruleset = await loadRulesetFrom(ctx, o);
    const pipeline = createPipeline(ruleset, { targets: [ruleset.defaultTarget] });
    const json = o.format === 'json';
    const summary = await judgeBatches(ctx, { paths: files, pipeline, nowMs: now, inputFormat: o.inputFormat, progress: o.progress }, ({ file, item, result }) => {
      if (result.verdict !== 'rejected') return;
      const id = recordId(item);
      if (json) {
        println(ctx.stdout, JSON.stringify({ type: 'rejection', file, line: item.line, index: item.index, id, errors: result.errors }));
        return;
      }
      println(ctx.stdout, `${where(file, item)}${id !== undefined ? ` ${id}` : ''}: ${item.ok ? 'rejected' : 'malformed'}`);
      for (const e of result.errors) println(ctx.stdout, `  ${describeError(e)}`);
    });
    if (json) println(ctx.stdout, JSON.stringify({ type: 'summary', rulesetVersion: pipeline.version, ...summary }));
    else {
      if (summary.rejected) println(ctx.stdout);
      for (const l of summaryLines(summary)) println(ctx.stdout, l);
    }
    if (summary.rejected) markFailed(ctx);
  });
}
