/**
 * `bilhetagem dlq list|show|retry|discard`: the dead letters in the --db database (or the --store one). A retry puts the row back
 * in the outbox (the dead letter stays, marked retried) and a running forwarder sends it again; nothing is
 * deleted, and nothing counts as delivered until the target confirms.
 */
import { userInfo } from 'node:os';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { parseTimeRange, resolveDeadLetters, showDeadLetter } from '../../forwarder/index.ts';
import type { DeadLetterSelection } from '../../forwarder/index.ts';
import type { DeadLetter, DeadLetterFilter, DeadLetterStatus } from '../../ports/store.ts';
import { addOptions, resolveOptions } from '../config.ts';
import type { CliContext } from '../context.ts';
import { withStore } from '../store.ts';
import { markFailed } from '../context.ts';
import { inline, plural, printJson, println, table } from '../output.ts';

const OPTIONS = ['db', 'store', 'format'] as const;

interface FilterFlags {
  target?: string;
  code?: string;
  reason?: string;
  from?: string;
  to?: string;
}

function addFilters(cmd: Command): Command {
  return cmd
    .option('--target <name>', 'only dead letters of this target')
    .option('--code <code>', 'only this code (MAPPING_REFUSED, HTTP_<status>, MAX_ATTEMPTS, MAX_AGE)')
    .option('--reason <text>', 'only dead letters whose reason contains this text')
    .option('--from <time>', 'dead-lettered at or after this RFC 3339 time')
    .option('--to <time>', 'dead-lettered before this RFC 3339 time');
}

function filterOf(flags: FilterFlags): Omit<DeadLetterFilter, 'status' | 'limit' | 'cursor'> {
  return {
    ...(flags.target ? { target: flags.target } : {}),
    ...(flags.code ? { code: flags.code } : {}),
    ...(flags.reason ? { reason: flags.reason } : {}),
    ...parseTimeRange(flags.from, flags.to),
  };
}

export function register(program: Command, ctx: CliContext): void {
  const dlq = program.command('dlq').description('dead letters: deliveries a target refused for good or that ran out of retries');

  const list = addFilters(dlq.command('list').description('list dead letters, newest first'))
    .addOption(new Option('--status <status>', 'dead (waiting for a decision), retried or discarded').choices(['dead', 'retried', 'discarded']).default('dead'))
    .option('--limit <n>', 'most dead letters to show', (v: string) => positive(v, '--limit'), 50)
    .option('--cursor <cursor>', 'continue after the last page (printed under a full page)');
  addOptions(list, OPTIONS);
  list.addHelpText('after', '\nExample:\n  $ bilhetagem dlq list --target lago --code HTTP_422 --from 2026-11-01T00:00:00Z');
  list.action(async (flags: FilterFlags & { status: DeadLetterStatus; limit: number; cursor?: string }) => {
    const o = resolveOptions(list, OPTIONS, ctx.env, ctx.cwd);
    const filter = filterOf(flags);
    await withStore(ctx, o, false, async (store) => {
      const page = await store.listDeadLetters({ ...filter, status: flags.status, limit: flags.limit, ...(flags.cursor ? { cursor: flags.cursor } : {}) });
      if (o.format === 'json') return printJson(ctx.stdout, page);
      if (page.items.length === 0) return println(ctx.stdout, `no ${flags.status} dead letters${Object.keys(filter).length ? ' matching the filters' : ''}`);
      const resolved = flags.status !== 'dead';
      const rows = [['id', 'at', 'target', 'code', 'status', ...(resolved ? ['resolved'] : []), 'record', 'reason']];
      for (const d of page.items) {
        const by = resolved ? [`${d.resolvedAt?.toISOString() ?? '-'}${d.resolvedBy ? ` by ${d.resolvedBy}` : ''}`] : [];
        rows.push([d.id, d.at.toISOString(), d.target, d.code ?? '-', d.status, ...by, `${d.source}:${d.recordId}`, cut(d.reason, 70)]);
      }
      for (const line of table(rows, '')) println(ctx.stdout, line);
      if (page.nextCursor) println(ctx.stdout, `more: --cursor ${page.nextCursor}`);
    });
  });

  const show = dlq.command('show').description('one dead letter: why, the last answer, the row and every attempt').argument('<id>', 'the dead letter id');
  addOptions(show, OPTIONS);
  show.action(async (id: string) => {
    const o = resolveOptions(show, OPTIONS, ctx.env, ctx.cwd);
    await withStore(ctx, o, false, async (store) => {
      const v = await showDeadLetter(store, id);
      if (o.format === 'json') return printJson(ctx.stdout, v);
      const d = v.deadLetter;
      println(ctx.stdout, `dead letter ${d.id} (${d.status}${d.resolvedAt ? ` ${d.resolvedAt.toISOString()}${d.resolvedBy ? ` by ${d.resolvedBy}` : ''}` : ''})`);
      println(ctx.stdout, `  record   ${d.source}:${d.recordId}`);
      println(ctx.stdout, `  target   ${d.target}`);
      println(ctx.stdout, `  at       ${d.at.toISOString()}`);
      println(ctx.stdout, `  code     ${d.code ?? '-'}${d.statusCode === null ? '' : ` (HTTP ${d.statusCode})`}`);
      println(ctx.stdout, `  reason   ${d.reason}`);
      if (d.answer !== null && d.answer !== undefined) println(ctx.stdout, `  answer   ${typeof d.answer === 'string' ? d.answer : JSON.stringify(d.answer)}`);
      if (v.delivery) {
        println(ctx.stdout, `  row      ${v.delivery.status}, ${plural(v.delivery.attempts, 'attempt')} since queued, ${plural(v.delivery.replays, 'replay')}`);
        println(ctx.stdout, `  body     ${inline(v.delivery.body, 200)}`);
      }
      if (v.attempts.length > 0) {
        println(ctx.stdout, '  attempts:');
        const rows = [['at', 'outcome', 'status', 'ms', 'error']];
        for (const a of v.attempts) rows.push([a.at.toISOString(), a.outcome, a.statusCode === null ? '-' : String(a.statusCode), a.latencyMs === null ? '-' : String(Math.round(a.latencyMs)), cut(a.error ?? '', 60)]);
        for (const line of table(rows, '    ')) println(ctx.stdout, line);
      }
    });
  });

  for (const action of ['retry', 'discard'] as const) {
    const cmd = addFilters(
      dlq
        .command(action)
        .description(
          action === 'retry'
            ? 'put dead letters back in the outbox (by id, or every open one matching the filters); the forwarder sends them again'
            : 'give up on dead letters (by id, or every open one matching the filters); nothing is deleted',
        )
        .argument('[ids...]', 'dead letter ids'),
    )
      .option('--all', 'every open dead letter (when no id or filter is given)')
      .option('--by <name>', 'who decides, kept on the dead letter (default: cli:<user>)');
    addOptions(cmd, OPTIONS);
    cmd.addHelpText('after', `\nExample:\n  $ bilhetagem dlq ${action} 41 42\n  $ bilhetagem dlq ${action} --target lago --code HTTP_503 --from 2026-11-25T00:00:00Z`);
    cmd.action(async (ids: string[], flags: FilterFlags & { all?: boolean; by?: string }) => {
      const o = resolveOptions(cmd, OPTIONS, ctx.env, ctx.cwd);
      const selection: DeadLetterSelection = ids.length > 0 ? { ids } : { filter: filterOf(flags), all: flags.all === true };
      const by = flags.by ?? actor();
      await withStore(ctx, o, false, async (store) => {
        const out = await resolveDeadLetters(store, action, selection, { at: new Date(), by });
        if (out.resolved.length > 0) {
          await store.appendAudit({ actor: by, action: `dead-letter.${action}`, after: { selection, ids: out.resolved.map((d: DeadLetter) => d.id) }, at: new Date() });
        }
        if (out.failed.length > 0) markFailed(ctx);
        if (o.format === 'json') return printJson(ctx.stdout, out);
        const done = action === 'retry' ? 'retried' : 'discarded';
        println(ctx.stdout, `${done} ${plural(out.resolved.length, 'dead letter')}${action === 'retry' && out.resolved.length > 0 ? '; their rows are back in the outbox' : ''}`);
        for (const f of out.failed) println(ctx.stdout, `  ${f.id}: ${f.message} [${f.code}]`);
      });
    });
  }
}


export function actor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError(`${flag} must be a whole number from 1 to 1000`);
  return n;
}

function cut(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}
