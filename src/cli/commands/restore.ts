/**
 * `bilhetagem restore --from <backup>`: puts a backup in place of the server's database, after checking
 * it (integrity, manifest checksum and counts, schema version). Refuses to replace an existing database
 * unless --force, and refuses one that another process has open even then. The replaced file is kept.
 */
import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { restoreSqlite } from '../../ops/backup.ts';
import { addOptions, resolveOptions } from '../config.ts';
import type { CliContext } from '../context.ts';
import { num, println, printJson } from '../output.ts';

const OPTIONS = ['db', 'format'] as const;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('restore')
    .description('restore the SQLite database from a backup, after checking the backup')
    .addOption(new Option('--from <file>', 'the backup file (its <file>.json manifest is checked when present)').env('BILHETAGEM_RESTORE_FROM').makeOptionMandatory())
    .option('--force', 'replace the database at --db (stop the server first; the old file is kept as <db>.before-restore-<time>)');
  addOptions(cmd, OPTIONS);
  cmd.addHelpText(
    'after',
    `
After the restore, start the server (and its forwarder) as usual: rows that were pending in the backup are
sent, and those the target already had are answered "already have it" under the same idempotency key.
Records accepted after the backup was taken are not in it; docs/guides/backup-and-recovery.md says how
to find them.

Example:
  $ bilhetagem restore --from /var/backups/bilhetagem/bilhetagem-20260301T020000Z.db --db ./data/bilhetagem.db --force`,
  );
  cmd.action(async (flags: { from: string; force?: boolean }) => {
    const o = resolveOptions(cmd, OPTIONS, ctx.env, ctx.cwd);
    const result = await restoreSqlite({ from: resolve(ctx.cwd, flags.from), to: resolve(ctx.cwd, o.db), force: flags.force ?? false });
    if (o.format === 'json') return printJson(ctx.stdout, result);
    println(ctx.stdout, `restored ${result.from}`);
    println(ctx.stdout, `      to ${result.path} (schema ${result.backupSchemaVersion}${result.schemaVersion !== result.backupSchemaVersion ? ` → ${result.schemaVersion}` : ''})`);
    println(ctx.stdout, ` checked: integrity ok${result.manifest ? ', sha256 and counts match the manifest' : ' (no manifest beside the backup)'}`);
    println(ctx.stdout, `    rows: ${Object.entries(result.counts).map(([t, n]) => `${t} ${num(n)}`).join(', ')}`);
    if (result.leasesReleased > 0) println(ctx.stdout, `released ${num(result.leasesReleased)} delivery lease(s) held when the backup was taken`);
    if (result.replaced) println(ctx.stdout, `    kept the replaced database as ${result.replaced}`);
  });
}
