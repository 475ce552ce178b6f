/** `bilhetagem users add|list|remove|set-role|reset-password`, run through commander against a real SQLite file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import { verifyPassword } from '../../src/auth/passwords.ts';
import * as users from '../../src/cli/commands/users.ts';
import type { CliContext } from '../../src/cli/context.ts';

const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-users-'));
const db = join(dir, 'data', 'bilhetagem.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[], stdin = '') {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (f(c.toString()), cb()) });
  const input = new PassThrough();
  input.end(stdin);
  const ctx: CliContext = { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), stdin: input, env: {}, cwd: dir, exitCode: 0 };
  const program = new Command('bilhetagem').exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  users.register(program, ctx);
  for (const c of program.commands) {
    c.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
    for (const sub of c.commands) sub.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  }
  let error: unknown;
  try {
    await program.parseAsync(args.includes('--db') ? args : [...args, '--db', db], { from: 'user' });
  } catch (e) {
    error = e;
  }
  return { out, err, error: error as { code?: string; message?: string } | undefined };
}

async function withStore<T>(work: (store: ReturnType<typeof createSqliteStore>) => Promise<T>): Promise<T> {
  const store = createSqliteStore({ filename: db });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

describe('bilhetagem users', () => {
  it('adds an account with a generated password, printed once alone on stdout, stored as a scrypt hash', async () => {
    const { out, err, error } = await run(['users', 'add', 'ana', '--role', 'admin']);
    expect(error).toBeUndefined();
    const password = out.trim();
    expect(password).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(err).toContain('created account ana (admin)');
    const account = await withStore((s) => s.getAccount('ana'));
    expect(account?.role).toBe('admin');
    expect(account?.passwordHash).toMatch(/^scrypt\$/);
    expect(await verifyPassword(password, account!.passwordHash)).toBe(true);
  });

  it('takes a password from stdin, and refuses a short one', async () => {
    expect((await run(['users', 'add', 'bob', '--role', 'operator', '--password-stdin'], 'a fine long password\n')).out).toBe('');
    const bob = await withStore((s) => s.getAccount('bob'));
    expect(await verifyPassword('a fine long password', bob!.passwordHash)).toBe(true);
    expect((await run(['users', 'add', 'cid', '--password-stdin'], 'short\n')).error?.code).toBe('BLH_ERR_ADMIN_PASSWORD');
    expect((await run(['users', 'add', 'bad name'])).error?.code).toBe('BLH_ERR_ADMIN_INPUT');
    expect((await run(['users', 'add', 'ana'])).error?.code).toBe('BLH_ERR_STORE_EXISTS');
  });

  it('lists accounts and roles, never hashes', async () => {
    const { out } = await run(['users', 'list']);
    expect(out).toMatch(/^username\s+role/);
    expect(out).toMatch(/ana\s+admin/);
    expect(out).toMatch(/bob\s+operator/);
    expect(out).not.toContain('scrypt');
    const json = JSON.parse((await run(['users', 'list', '--format', 'json'])).out);
    expect(json.map((a: { username: string }) => a.username)).toEqual(['ana', 'bob']);
  });

  it('sets roles, keeping the last admin an admin', async () => {
    expect((await run(['users', 'set-role', 'bob', 'viewer'])).out).toBe('bob is now viewer\n');
    expect((await run(['users', 'set-role', 'ana', 'viewer'])).error?.code).toBe('BLH_ERR_ADMIN_LAST_ADMIN');
    expect((await run(['users', 'set-role', 'bob', 'root'])).error?.code).toBe('BLH_ERR_ADMIN_INPUT');
    expect((await run(['users', 'set-role', 'nobody', 'viewer'])).error?.code).toBe('BLH_ERR_ADMIN_NOT_FOUND');
  });

  it('resets a password, printing the new one once', async () => {
    const before = (await withStore((s) => s.getAccount('bob')))!.passwordHash;
    const password = (await run(['users', 'reset-password', 'bob'])).out.trim();
    const after = (await withStore((s) => s.getAccount('bob')))!.passwordHash;
    expect(after).not.toBe(before);
    expect(await verifyPassword(password, after)).toBe(true);
  });

  it('removes an account, but not the last admin', async () => {
    expect((await run(['users', 'remove', 'ana'])).error?.code).toBe('BLH_ERR_ADMIN_LAST_ADMIN');
    expect((await run(['users', 'remove', 'bob'])).out).toBe('removed bob\n');
    expect(await withStore((s) => s.listAccounts())).toMatchObject([{ username: 'ana' }]);
  });

  it('audits every change as cli:<user>, with before and after, never a password', async () => {
    const entries = (await withStore((s) => s.listAudit())).items;
    expect(entries.map((e) => e.action)).toEqual(['account.delete', 'account.password-reset', 'account.role', 'account.create', 'account.create']);
    expect(entries.every((e) => e.actor.startsWith('cli'))).toBe(true);
    expect(entries[2]).toMatchObject({ target: 'bob', before: { role: 'operator' }, after: { role: 'viewer' } });
    expect(JSON.stringify(entries)).not.toMatch(/scrypt|password"/);
  });

  it('says so when there is no database yet (except for add, which creates it)', async () => {
    const res = await run(['users', 'list', '--db', join(dir, 'none.db')]);
    expect(res.error?.code).toBe('BLH_ERR_STORE_OPEN');
  });
});
