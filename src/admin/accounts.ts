/**
 * Account changes shared by the panel and `bilhetagem users`: the same checks, the same audit entries.
 * Passwords are hashed with scrypt (src/auth/passwords.ts) and never logged or audited; a generated
 * password is answered once to be shown once.
 */
import { generatePassword, hashPassword, verifyPassword } from '../auth/passwords.ts';
import type { AccountInfo, AccountStore, AuditStore } from '../ports/store.ts';
import { AdminError, AdminErrorCodes as E, badInput, notFound } from './errors.ts';
import { isRole, ROLES } from './roles.ts';
import type { Role } from './roles.ts';

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 256;
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

type Accounts = Pick<AccountStore, 'createAccount' | 'getAccount' | 'listAccounts' | 'updateAccount' | 'deleteAccount'> & Pick<AuditStore, 'appendAudit'>;

export function checkUsername(value: unknown): string {
  if (typeof value !== 'string' || !USERNAME.test(value)) {
    throw badInput('a username is 1 to 64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit', { field: 'username' });
  }
  return value;
}

export function checkRole(value: unknown): Role {
  if (!isRole(value)) throw badInput(`the role must be one of ${ROLES.join(', ')}`, { field: 'role', value: String(value) });
  return value;
}

export function checkPassword(value: unknown): string {
  if (typeof value !== 'string' || value.length < PASSWORD_MIN_LENGTH || value.length > PASSWORD_MAX_LENGTH) {
    throw new AdminError(E.PASSWORD, 400, `a password has ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`, { details: { minLength: PASSWORD_MIN_LENGTH } });
  }
  return value;
}

export interface AccountChange {
  /** Who makes the change: a username, or `cli:<user>`. */
  actor: string;
  at: Date;
}

/** Creates an account; without a password one is generated and answered (to show once). */
export async function createAccount(store: Accounts, input: { username: unknown; role: unknown; password?: unknown }, change: AccountChange): Promise<{ account: AccountInfo; password?: string }> {
  const username = checkUsername(input.username);
  const role = checkRole(input.role);
  const generated = input.password === undefined ? generatePassword() : undefined;
  const password = generated ?? checkPassword(input.password);
  const account = await store.createAccount({ username, role, passwordHash: await hashPassword(password), createdAt: change.at });
  await store.appendAudit({ actor: change.actor, action: 'account.create', target: username, after: { role }, at: change.at });
  return generated ? { account, password: generated } : { account };
}

export async function setRole(store: Accounts, usernameInput: unknown, roleInput: unknown, change: AccountChange): Promise<AccountInfo> {
  const username = checkUsername(usernameInput);
  const role = checkRole(roleInput);
  const account = await existing(store, username);
  if (account.role === role) return strip(account);
  if (account.role === 'admin') await keepAnAdmin(store, username, 'demote');
  const updated = await store.updateAccount(username, { role, at: change.at });
  await store.appendAudit({ actor: change.actor, action: 'account.role', target: username, before: { role: account.role }, after: { role }, at: change.at });
  return updated;
}

/** Sets a new password (generated when none is given) and answers it; every session of the account ends. */
export async function resetPassword(store: Accounts, usernameInput: unknown, change: AccountChange, passwordInput?: unknown): Promise<{ account: AccountInfo; password: string }> {
  const username = checkUsername(usernameInput);
  await existing(store, username);
  const password = passwordInput === undefined ? generatePassword() : checkPassword(passwordInput);
  const account = await store.updateAccount(username, { passwordHash: await hashPassword(password), at: change.at });
  await store.appendAudit({ actor: change.actor, action: 'account.password-reset', target: username, at: change.at });
  return { account, password };
}

/** An account changing its own password: the current one must be right. */
export async function changeOwnPassword(store: Accounts, username: string, current: unknown, next: unknown, at: Date): Promise<AccountInfo> {
  const account = await existing(store, username);
  if (typeof current !== 'string' || !(await verifyPassword(current, account.passwordHash))) {
    throw new AdminError(E.PASSWORD, 400, 'the current password is wrong');
  }
  const password = checkPassword(next);
  if (password === current) throw new AdminError(E.PASSWORD, 400, 'the new password is the current one');
  const updated = await store.updateAccount(username, { passwordHash: await hashPassword(password), at });
  await store.appendAudit({ actor: username, action: 'account.password-change', target: username, at });
  return updated;
}

export async function removeAccount(store: Accounts, usernameInput: unknown, change: AccountChange): Promise<void> {
  const username = checkUsername(usernameInput);
  if (username === change.actor) throw new AdminError(E.LAST_ADMIN, 409, 'you cannot remove your own account; another admin can');
  const account = await existing(store, username);
  if (account.role === 'admin') await keepAnAdmin(store, username, 'remove');
  await store.deleteAccount(username);
  await store.appendAudit({ actor: change.actor, action: 'account.delete', target: username, before: { role: account.role }, at: change.at });
}

async function existing(store: Accounts, username: string) {
  const account = await store.getAccount(username);
  if (!account) throw notFound(`there is no account "${username}"`, { username });
  return account;
}

async function keepAnAdmin(store: Accounts, username: string, what: 'demote' | 'remove'): Promise<void> {
  const admins = (await store.listAccounts()).filter((a) => a.role === 'admin' && a.username !== username);
  if (admins.length === 0) throw new AdminError(E.LAST_ADMIN, 409, `cannot ${what} "${username}": it is the last admin account`, { details: { username } });
}

function strip(account: AccountInfo & { passwordHash?: string }): AccountInfo {
  const { passwordHash: _hash, ...info } = account;
  return info;
}
