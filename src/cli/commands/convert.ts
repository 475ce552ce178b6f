import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { once } from 'node:events';
import type { Command } from 'commander';
import { createPipeline } from '../../pipeline.ts';
import { OptionsError } from '../../errors.ts';
import { LineWriter } from '../../io/line-writer.ts';
import { addOptions, resolveOptions } from '../config.ts';
import { loadRulesetFrom, nowMs } from '../shared.ts';
import { judgeBatches, summaryLines } from '../batch.ts';
import { println } from '../output.ts';
import { markFailed, type CliContext } from '../context.ts';

const OPTIONS = ['rules', 'mappings', 'now', 'format', 'inputFormat', 'output', 'target', 'rejects', 'progress'] as const;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('convert')
    .description('write the mapping output of every accepted record as NDJSON, and rejected ones to a rejects file')
    .argument('<file>', 'NDJSON, JSON array or CSV file, optionally gzipped; "-" reads stdin');
  addOptions(cmd, OPTIONS);
  cmd.addHelpText(
    'after',
    `
Accepted records: their mapping output, one JSON per line, to --output. Rejected records (and lines that
are not records): {"file","line","index","errors","record"|"raw"} per line to --rejects. Skipped records
are only counted. The summary goes to stderr (JSON with --format json, including peak memory).
Exit code: 0 when no record was rejected, 1 when one was, 2 when the command could not run.

Example:
  $ bilhetagem convert examples/records.ndjson -o billable.ndjson --rejects rejects.ndjson --now 2026-11-25T12:00:00Z
  $ bilhetagem convert examples/records.csv -o - --target lago | head`,
  );
  cmd.action(async (file: string) => {
    const o = resolveOptions(cmd, OPTIONS, ctx.env, ctx.cwd);
    if (!o.output) throw new OptionsError('convert needs -o, --output <file> ("-" for stdout)', { option: 'output' });
    const now = nowMs(o.now);
    const ruleset = await loadRulesetFrom(ctx, o);
    const target = o.target ?? ruleset.defaultTarget;
    const pipeline = createPipeline(ruleset, { targets: [target] });
    const out = await openOutput(ctx, o.output);
    const rejects = o.rejects ? await openOutput(ctx, o.rejects) : undefined;
    const summary = await judgeBatches(ctx, { paths: [file], pipeline, nowMs: now, inputFormat: o.inputFormat, progress: o.progress }, ({ file: name, item, result }) => {
      if (result.verdict === 'accepted') {
        const v = result.outputs[target];
        return out.write(v === undefined ? 'null' : JSON.stringify(v));
      }
      if (result.verdict === 'rejected' && rejects) {
        const entry = item.ok
          ? { file: name, line: item.line, index: item.index, errors: result.errors, record: item.record }
          : { file: name, line: item.line, index: item.index, errors: result.errors, raw: item.raw };
        return rejects.write(JSON.stringify(entry));
      }
      return undefined;
    });
    await out.end();
    await rejects?.end();
    if (o.format === 'json') {
      println(ctx.stderr, JSON.stringify({ type: 'summary', rulesetVersion: pipeline.version, target, ...summary, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
    } else {
      const lines = summaryLines(summary);
      lines[0] += ` — output: ${o.output === '-' ? 'stdout' : o.output}${o.rejects ? `, rejects: ${o.rejects}` : ''}`;
      for (const l of lines) println(ctx.stderr, l);
    }
    if (summary.rejected) markFailed(ctx);
  });
}

async function openOutput(ctx: CliContext, path: string): Promise<LineWriter> {
  if (path === '-') return new LineWriter(ctx.stdout);
  const stream = createWriteStream(resolve(ctx.cwd, path), { highWaterMark: 1 << 20 });
  await Promise.race([once(stream, 'open'), once(stream, 'error').then(([e]) => Promise.reject(e))]).catch((cause) => {
    throw new OptionsError(`cannot write ${path}: ${(cause as Error).message}`, { file: path });
  });
  return new LineWriter(stream);
}
