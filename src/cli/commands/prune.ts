/**
 * `bilhetagem prune --older-than 90d`: archives delivered records and old rejections to one compressed
 * NDJSON file per day (with manifest.json) and then removes them from the store (the SQLite file, or the
 * PostgreSQL schema --store names), each day only after its file is on disk. Pending and dead-lettered records are never removed. The server can do the same on a
 * schedule; this is for a cron job or a first clean-up.
 */
import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { OptionsError } from '../../errors.ts';
import { defaultArchiveDir, pruneStore } from '../../ops/prune.ts';
import { vacuumSqlite } from '../../ops/vacuum.ts';
import { addOptions, resolveOptions } from '../config.ts';
import type { CliContext } from '../context.ts';
import { num, plural, println, printJson, table } from '../output.ts';
import { storeHome, storeSpec, withStore } from '../store.ts';

const OPTIONS = ['db', 'store', 'format'] as const;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('prune')
    .description('archive, then remove, delivered records and rejections older than an age')
    .addOption(new Option('--older-than <age>', 'records older than this go, by whole UTC days: 90d, 12w, 36h').env('BILHETAGEM_RETENTION').makeOptionMandatory())
    .addOption(new Option('--archive <dir>', 'where the day files and manifest.json go (default: archive/ beside --db)').env('BILHETAGEM_ARCHIVE'))
    .option('--dry-run', 'count what would go; write and remove nothing')
    .option('--vacuum', 'afterwards, shrink the SQLite file to its new size (holds the write lock while it runs: use at a quiet time)');
  addOptions(cmd, OPTIONS);
  cmd.addHelpText(
    'after',
    `
A record goes when it was received before the cutoff and every delivery of it was confirmed before it.
Pending, dead-lettered and discarded deliveries keep their record. Each day is written to
<archive>/YYYY-MM-DD.ndjson.gz and fsynced before that day is removed; \`bilhetagem archive verify\` checks
the files against manifest.json.

Example:
  $ bilhetagem prune --older-than 90d
  $ bilhetagem prune --older-than 90d --dry-run --format json`,
  );
  cmd.action(async (flags: { olderThan: string; archive?: string; dryRun?: boolean; vacuum?: boolean }) => {
    const o = resolveOptions(cmd, OPTIONS, ctx.env, ctx.cwd);
    const spec = storeSpec(ctx, o);
    if (flags.vacuum && spec.kind === 'postgres') {
      throw new OptionsError('--vacuum shrinks a SQLite file; PostgreSQL reclaims the space of removed rows with (auto)vacuum', { option: 'vacuum' });
    }
    const archiveDir = flags.archive ? resolve(ctx.cwd, flags.archive) : defaultArchiveDir(storeHome(ctx, spec, o));
    const summary = await withStore(ctx, o, false, (store) => pruneStore({ store, archiveDir, olderThan: flags.olderThan, now: new Date(), dryRun: flags.dryRun ?? false }));
    const vacuum = flags.vacuum && !flags.dryRun && spec.kind === 'sqlite' ? vacuumSqlite(spec.filename) : undefined;
    if (o.format === 'json') return printJson(ctx.stdout, { ...summary, archiveDir, ...(vacuum ? { vacuum } : {}) });
    const verb = summary.dryRun ? 'would remove' : 'removed';
    println(ctx.stdout, `cutoff ${summary.cutoff.toISOString()}: ${verb} ${plural(summary.records, 'record')} and ${plural(summary.rejections, 'rejection')} from ${plural(summary.days.length, 'day')}`);
    if (summary.days.length > 0) {
      const rows = [['day', 'records', 'rejections', 'kept', 'archive']];
      for (const d of summary.days) rows.push([d.day, num(d.records), num(d.rejections), num(d.kept), d.file ? `${archiveDir}/${d.file}` : '-']);
      for (const line of table(rows, '  ', 'lrrrl')) println(ctx.stdout, line);
    }
    if (summary.kept > 0) println(ctx.stdout, `${plural(summary.kept, 'record')} archived but kept: replayed while the prune ran; a later run takes them`);
    if (vacuum) println(ctx.stdout, `vacuum: ${num(Math.round(vacuum.bytesBefore / 1024))} KiB → ${num(Math.round(vacuum.bytesAfter / 1024))} KiB`);
  });
}
