/**
 * `bilhetagem backup --to <file|folder>`: an online backup of the SQLite store, taken while the server
 * keeps running, checked after writing (integrity, counts, schema version), with a manifest beside it.
 * PostgreSQL is backed up with its own tools: docs/guides/backup-and-recovery.md.
 */
import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { backupSqlite } from '../../ops/backup.ts';
import { addOptions, resolveOptions } from '../config.ts';
import type { CliContext } from '../context.ts';
import { num, println, printJson } from '../output.ts';

const OPTIONS = ['db', 'format'] as const;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('backup')
    .description('back up the SQLite database while the server runs, and check the copy')
    .addOption(new Option('--to <file|folder>', 'the backup file, or a folder to put bilhetagem-<time>.db in').env('BILHETAGEM_BACKUP_TO').makeOptionMandatory())
    .option('--force', 'overwrite a backup file of the same name');
  addOptions(cmd, OPTIONS);
  cmd.addHelpText(
    'after',
    `
The copy is one consistent snapshot: every record answered 202 before the backup began is in it. It is
written beside its final name, checked, and only then moved into place, with <file>.json (sha256, counts,
schema version) that \`bilhetagem restore\` checks. Exit 0 when the backup is written and checked.

Example:
  $ bilhetagem backup --to /var/backups/bilhetagem/
  $ bilhetagem backup --db /var/lib/bilhetagem/bilhetagem.db --to nightly.db --force`,
  );
  cmd.action(async (flags: { to: string; force?: boolean }) => {
    const o = resolveOptions(cmd, OPTIONS, ctx.env, ctx.cwd);
    const result = await backupSqlite({ source: resolve(ctx.cwd, o.db), to: resolve(ctx.cwd, flags.to), overwrite: flags.force ?? false });
    if (o.format === 'json') return printJson(ctx.stdout, result);
    println(ctx.stdout, `backed up ${result.source}`);
    println(ctx.stdout, `       to ${result.path} (${num(Math.round(result.bytes / 1024))} KiB, schema ${result.schemaVersion}, snapshot at ${result.snapshotAt})`);
    println(ctx.stdout, `  checked: integrity ok; ${Object.entries(result.counts).map(([t, n]) => `${t} ${num(n)}`).join(', ')}`);
    println(ctx.stdout, ` manifest ${result.manifestPath} (sha256 ${result.sha256.slice(0, 16)}…)`);
  });
}
