/**
 * `bilhetagem keys create|list|revoke`: API keys in the server's database. A new key is printed once
 * (alone on stdout, so `KEY=$(bilhetagem keys create ...)` works) and only its hash is stored. Revoking
 * takes effect at the server's next request: keys are never cached.
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { issueApiKey } from '../../auth/issue-key.ts';
import { ADMIN_SCOPE, ALL_SOURCES } from '../../auth/scopes.ts';
import { OptionsError } from '../../errors.ts';
import { addOptions, resolveOptions } from '../config.ts';
import type { CliContext } from '../context.ts';
import { withStore } from '../store.ts';
import { println, printJson, table } from '../output.ts';

const OPTIONS = ['db', 'store', 'format'] as const;

export function register(program: Command, ctx: CliContext): void {
  const keys = program.command('keys').description("manage the server's API keys (in the --db database, or the --store one)");

  const create = keys
    .command('create')
    .description('create an API key for one or more sources (products) and print it once')
    .option('--source <product>', 'a source the key may send and read (repeat for more)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--name <name>', 'a name to recognise the key by (default: its sources)')
    .option('--all-sources', `the key may send and read every source ("${ALL_SOURCES}")`)
    .option('--admin', `the key may use the /admin routes ("${ADMIN_SCOPE}")`);
  addOptions(create, OPTIONS);
  create.addHelpText('after', '\nExample:\n  $ bilhetagem keys create --source voice-platform --name "voice prod"\n  $ KEY=$(bilhetagem keys create --source sms-gateway)');
  create.action(async (flags: { source: string[]; name?: string; allSources?: boolean; admin?: boolean }) => {
    const o = resolveOptions(create, OPTIONS, ctx.env, ctx.cwd);
    const sources = [...new Set([...flags.source, ...(flags.allSources ? [ALL_SOURCES] : []), ...(flags.admin ? [ADMIN_SCOPE] : [])])];
    if (sources.length === 0) throw new OptionsError('say what the key may do: --source <product> (repeatable), --all-sources or --admin', { option: 'source' });
    const name = flags.name ?? sources.join(',');
    await withStore(ctx, o, true, async (store) => {
      const { key, info } = await issueApiKey(store, { name, sources });
      await store.appendAudit({ actor: actor(), action: 'key.create', target: info.prefix, after: { name, sources }, at: new Date() });
      if (o.format === 'json') printJson(ctx.stdout, { key, id: info.id, prefix: info.prefix, name: info.name, sources: info.sources, createdAt: info.createdAt });
      else {
        println(ctx.stdout, key);
        ctx.stderr.write(`created key ${info.prefix} (id ${info.id}, "${name}") for ${sources.join(', ')}; it is shown only this once\n`);
      }
    });
  });

  const list = keys.command('list').description('list API keys (prefixes, names, sources; never secrets)');
  addOptions(list, OPTIONS);
  list.action(async () => {
    const o = resolveOptions(list, OPTIONS, ctx.env, ctx.cwd);
    await withStore(ctx, o, false, async (store) => {
      const all = await store.listApiKeys();
      if (o.format === 'json') return printJson(ctx.stdout, all);
      if (all.length === 0) return println(ctx.stdout, 'no API keys');
      const rows = [['id', 'prefix', 'name', 'sources', 'created', 'revoked']];
      for (const k of all) rows.push([k.id, k.prefix, k.name, k.sources.join(','), k.createdAt.toISOString(), k.revokedAt?.toISOString() ?? '-']);
      for (const line of table(rows, '')) println(ctx.stdout, line);
    });
  });

  const revoke = keys.command('revoke').description('revoke an API key by id or prefix; it stops working at once').argument('<key>', 'the key id or prefix (blh_...)');
  addOptions(revoke, OPTIONS);
  revoke.action(async (which: string) => {
    const o = resolveOptions(revoke, OPTIONS, ctx.env, ctx.cwd);
    await withStore(ctx, o, false, async (store) => {
      // A whole key pasted by mistake is matched by its prefix; the secret is never printed back.
      const wanted = which.split('.')[0];
      const key = (await store.listApiKeys()).find((k) => k.id === wanted || k.prefix === wanted);
      if (!key) throw new OptionsError(`no API key with id or prefix "${wanted}" (see bilhetagem keys list)`, { option: 'key' });
      const revoked = await store.revokeApiKey(key.id);
      if (key.revokedAt === null) await store.appendAudit({ actor: actor(), action: 'key.revoke', target: key.prefix, at: revoked.revokedAt ?? new Date() });
      if (o.format === 'json') printJson(ctx.stdout, revoked);
      else println(ctx.stdout, `${key.revokedAt ? 'already revoked' : 'revoked'}: ${revoked.prefix} ("${revoked.name}") at ${revoked.revokedAt?.toISOString()}`);
    });
  });
}


function actor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}
