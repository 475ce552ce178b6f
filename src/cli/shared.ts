/** Steps several commands share: load the ruleset, read "now", open a batch input. */
import { resolve } from 'node:path';
import { loadRuleset } from '../loaders/load-ruleset.ts';
import { parseTime } from '../core/facts.ts';
import { BilhetagemError, ErrorCodes, RulesetError } from '../errors.ts';
import { displayPaths } from './paths.ts';
import { openInput, readRecordBatches, formatFromPath, type OpenedInput } from '../io/read-records.ts';
import { createCsvTyper } from '../io/csv-types.ts';
import type { InputFormat, RecordItem } from '../io/items.ts';
import type { Ruleset } from '../core/ruleset/types.ts';
import type { CliContext } from './context.ts';

export async function loadRulesetFrom(ctx: CliContext, o: { rules: string; mappings: string }): Promise<Ruleset> {
  try {
    return await loadRuleset({ rules: resolve(ctx.cwd, o.rules), mappings: resolve(ctx.cwd, o.mappings) });
  } catch (e) {
    throw withRealPaths(e, displayPaths(ctx.cwd, o));
  }
}

/**
 * The library names ruleset files `rules/...` and `mappings/...`; a person wants the path they can open
 * (`../other/rules/rules/voice.rules.json`). Same error, same code, the message's file named as given.
 */
export function withRealPaths(e: unknown, show: (file: string) => string): unknown {
  if (!(e instanceof RulesetError) || typeof e.details.file !== 'string') return e;
  const file = e.details.file;
  const shown = show(file);
  if (shown === file || !e.message.includes(file)) return e;
  return new RulesetError(e.code, e.message.replace(file, shown), { cause: e.cause, details: e.details });
}

/** Epoch ms of --now, or the current time. */
export function nowMs(now: string | undefined): number {
  if (now === undefined) return Date.now();
  const ms = parseTime(now);
  if (!Number.isFinite(ms)) {
    throw new BilhetagemError(ErrorCodes.INVALID_NOW, `--now must be an RFC 3339 time such as 2026-11-25T12:00:00Z; got ${JSON.stringify(now)}`, { details: { now } });
  }
  return ms;
}

export interface BatchInput extends OpenedInput {
  name: string;
  batches: AsyncGenerator<RecordItem[]>;
}

/** Opens a batch file (or stdin for "-") and reads it in the format its name implies or --input-format says. */
export async function openBatch(ctx: CliContext, path: string, ruleset: Ruleset, inputFormat: string | undefined): Promise<BatchInput> {
  const opened = await openInput(path === '-' ? '-' : resolve(ctx.cwd, path), ctx.stdin);
  const implied = path === '-' ? {} : formatFromPath(path);
  const format = (inputFormat as InputFormat | undefined) ?? implied.format;
  const batches = readRecordBatches(opened.chunks, { format, gzip: implied.gzip, csvTyper: createCsvTyper(ruleset) });
  return { ...opened, name: path === '-' ? '<stdin>' : path, batches };
}

/** Reads all of stdin or a file as text. */
export async function readText(ctx: CliContext, path: string): Promise<string> {
  const opened = await openInput(path === '-' ? '-' : resolve(ctx.cwd, path), ctx.stdin);
  const parts: Buffer[] = [];
  for await (const c of opened.chunks) parts.push(c);
  return Buffer.concat(parts).toString('utf8');
}
