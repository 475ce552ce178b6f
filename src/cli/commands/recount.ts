/**
 * `bilhetagem recount`: counts again, from a scan of the tables, what `/metrics`, the forwarder's stats and the
 * admin panel read from counts the writes keep (records by verdict, rejections, deliveries by target and status).
 * Those counts follow bilhetagem's own writes; rows changed by hand (sqlite3, psql), or written by an older
 * version during a rolling upgrade, leave them off until this runs. It holds the store's writers back while it
 * scans: run it at a quiet time.
 */
import type { Command } from 'commander';
import { addOptions, resolveOptions } from '../config.ts';
import type { CliContext } from '../context.ts';
import { num, plural, printJson, println, table } from '../output.ts';
import { withStore } from '../store.ts';

const OPTIONS = ['db', 'store', 'format'] as const;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program.command('recount').description('count again, from a scan, what /metrics and the admin panel read (after rows were changed by hand)');
  addOptions(cmd, OPTIONS);
  cmd.addHelpText('after', '\nExample:\n  $ bilhetagem recount\n  $ bilhetagem recount --store postgres://bilhetagem@db:5432/billing --format json');
  cmd.action(async () => {
    const o = resolveOptions(cmd, OPTIONS, ctx.env, ctx.cwd);
    await withStore(ctx, o, false, async (store) => {
      const changes = await store.recountStats();
      if (o.format === 'json') return printJson(ctx.stdout, { changed: changes });
      if (changes.length === 0) return println(ctx.stdout, 'every count was right; nothing changed');
      println(ctx.stdout, `${plural(changes.length, 'count')} corrected from a scan:`);
      const rows = [['count', 'was', 'now']];
      for (const c of changes) rows.push([describe(c), num(c.before), num(c.after)]);
      for (const line of table(rows, '  ', 'lrr')) println(ctx.stdout, line);
    });
  });
}

function describe(c: { kind: string; a: string; b: string }): string {
  if (c.kind === 'records') return `records ${c.a}`;
  if (c.kind === 'outbox') return `deliveries to ${c.a} ${c.b}`;
  return c.kind;
}
