/**
 * `bilhetagem archive verify [dir]`: recomputes the checksum and counts of every retention archive file,
 * reads every line, and compares them with manifest.json. Exit 1 when anything does not match.
 */
import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { verifyArchive } from '../../ops/archive.ts';
import { defaultArchiveDir } from '../../ops/prune.ts';
import { addOptions, resolveOptions } from '../config.ts';
import { markFailed } from '../context.ts';
import type { CliContext } from '../context.ts';
import { FAIL, num, OK, println, printJson } from '../output.ts';
import { storeHome, storeSpec } from '../store.ts';

const OPTIONS = ['db', 'store', 'format'] as const;

export function register(program: Command, ctx: CliContext): void {
  const archive = program.command('archive').description('retention archives (written by prune)');
  const verify = archive
    .command('verify')
    .description('check every archive file against manifest.json: sha256, size, counts, every line')
    .argument('[dir]', 'the archive folder (default: --archive, else archive/ beside the SQLite file of --store or --db)')
    .addOption(new Option('--archive <dir>', 'the archive folder').env('BILHETAGEM_ARCHIVE'));
  addOptions(verify, OPTIONS);
  verify.addHelpText('after', '\nExit 0 when every file matches, 1 when one does not.\n\nExample:\n  $ bilhetagem archive verify ./data/archive');
  verify.action(async (dir: string | undefined, flags: { archive?: string }) => {
    const o = resolveOptions(verify, OPTIONS, ctx.env, ctx.cwd);
    const where = dir ?? flags.archive;
    const report = await verifyArchive(where ? resolve(ctx.cwd, where) : defaultArchiveDir(storeHome(ctx, storeSpec(ctx, o), o)));
    if (!report.ok) markFailed(ctx);
    if (o.format === 'json') return printJson(ctx.stdout, report);
    for (const f of report.files) {
      println(ctx.stdout, `${f.ok ? OK : FAIL} ${f.name}  ${num(f.records)} records, ${num(f.rejections)} rejections`);
      for (const p of f.problems) println(ctx.stdout, `    ${p}`);
    }
    for (const p of report.problems) println(ctx.stdout, `${FAIL} ${p}`);
    println(ctx.stdout, report.ok ? `${report.dir}: ${report.files.length} file(s), ${num(report.records)} records, ${num(report.rejections)} rejections, all match the manifest` : `${report.dir}: the archive does not match its manifest`);
  });
}
