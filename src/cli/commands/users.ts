/**
 * `bilhetagem users add|list|remove|set-role|reset-password`: the admin panel's accounts, in the server's
 * database. The same checks and audit entries as the panel (src/admin/accounts.ts). A generated password
 * is printed once, alone on stdout (so `PW=$(bilhetagem users add ana)` works); only its scrypt hash is
 * stored. `--password-stdin` takes one instead.
 */
import { userInfo } from 'node:os';
import { Option } from 'commander';
import type { Command } from 'commander';
import { createAccount, removeAccount, resetPassword, setRole } from '../../admin/accounts.ts';
import { ROLES } from '../../admin/roles.ts';
import { addOptions, resolveOptions } from '../config.ts';
import type { CliContext } from '../context.ts';
import { withStore } from '../store.ts';
import { println, printJson, table } from '../output.ts';
import { readText } from '../shared.ts';

const OPTIONS = ['db', 'store', 'format'] as const;

export function register(program: Command, ctx: CliContext): void {
  const users = program.command('users').description('manage the admin panel accounts (in the --db database, or the --store one)');
  users.addHelpText('after', `\nRoles: admin (everything), operator (dead letters, replays, ruleset activation), viewer (read only).`);

  const add = users
    .command('add')
    .description('create an account; prints its generated password once')
    .argument('<username>', 'letters, digits, ".", "_", "@" or "-"')
    .addOption(new Option('--role <role>', 'what the account may do').choices(ROLES).default('viewer'))
    .option('--password-stdin', 'read the password from stdin instead of generating one');
  addOptions(add, OPTIONS);
  add.addHelpText('after', '\nExample:\n  $ bilhetagem users add ana --role operator\n  $ PW=$(bilhetagem users add bot --role viewer)');
  add.action(async (username: string, flags: { role: string; passwordStdin?: boolean }) => {
    const o = resolveOptions(add, OPTIONS, ctx.env, ctx.cwd);
    const password = flags.passwordStdin ? await passwordFromStdin(ctx) : undefined;
    await withStore(ctx, o, true, async (store) => {
      const out = await createAccount(store, { username, role: flags.role, ...(password === undefined ? {} : { password }) }, change());
      if (o.format === 'json') return printJson(ctx.stdout, { ...out.account, ...(out.password ? { password: out.password } : {}) });
      if (out.password) println(ctx.stdout, out.password);
      ctx.stderr.write(`created account ${out.account.username} (${out.account.role})${out.password ? '; the password above is shown only this once' : ''}\n`);
    });
  });

  const list = users.command('list').description('list accounts and their roles (never passwords)');
  addOptions(list, OPTIONS);
  list.action(async () => {
    const o = resolveOptions(list, OPTIONS, ctx.env, ctx.cwd);
    await withStore(ctx, o, false, async (store) => {
      const all = await store.listAccounts();
      if (o.format === 'json') return printJson(ctx.stdout, all);
      if (all.length === 0) return println(ctx.stdout, 'no accounts');
      const rows = [['username', 'role', 'created', 'changed']];
      for (const a of all) rows.push([a.username, a.role, a.createdAt.toISOString(), a.updatedAt.toISOString()]);
      for (const line of table(rows, '', 'llll')) println(ctx.stdout, line);
    });
  });

  const remove = users.command('remove').description('remove an account (not the last admin); its panel sessions end at their next request').argument('<username>');
  addOptions(remove, OPTIONS);
  remove.action(async (username: string) => {
    const o = resolveOptions(remove, OPTIONS, ctx.env, ctx.cwd);
    await withStore(ctx, o, false, async (store) => {
      await removeAccount(store, username, change());
      if (o.format === 'json') printJson(ctx.stdout, { removed: username });
      else println(ctx.stdout, `removed ${username}`);
    });
  });

  const role = users.command('set-role').description('change what an account may do (the last admin stays admin)').argument('<username>').argument('<role>', ROLES.join(' | '));
  addOptions(role, OPTIONS);
  role.action(async (username: string, newRole: string) => {
    const o = resolveOptions(role, OPTIONS, ctx.env, ctx.cwd);
    await withStore(ctx, o, false, async (store) => {
      const account = await setRole(store, username, newRole, change());
      if (o.format === 'json') printJson(ctx.stdout, account);
      else println(ctx.stdout, `${account.username} is now ${account.role}`);
    });
  });

  const reset = users
    .command('reset-password')
    .description('give an account a new password (generated and printed once, or from stdin); its sessions end')
    .argument('<username>')
    .option('--password-stdin', 'read the new password from stdin instead of generating one');
  addOptions(reset, OPTIONS);
  reset.action(async (username: string, flags: { passwordStdin?: boolean }) => {
    const o = resolveOptions(reset, OPTIONS, ctx.env, ctx.cwd);
    const password = flags.passwordStdin ? await passwordFromStdin(ctx) : undefined;
    await withStore(ctx, o, false, async (store) => {
      const out = await resetPassword(store, username, change(), password);
      if (o.format === 'json') return printJson(ctx.stdout, { ...out.account, ...(password === undefined ? { password: out.password } : {}) });
      if (password === undefined) println(ctx.stdout, out.password);
      ctx.stderr.write(`new password set for ${out.account.username}${password === undefined ? '; it is shown only this once' : ''}\n`);
    });
  });
}

/** The first line of stdin (a trailing newline from `echo` is not part of the password). */
async function passwordFromStdin(ctx: CliContext): Promise<string> {
  return (await readText(ctx, '-')).replace(/\r?\n$/, '');
}

function change() {
  let who = 'cli';
  try {
    who = `cli:${userInfo().username}`;
  } catch {
    /* no user name on this system */
  }
  return { actor: who, at: new Date() };
}

