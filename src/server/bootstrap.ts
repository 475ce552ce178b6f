/**
 * First start: with no account and no API key in the store, create an admin account and one demo API
 * key, and hand them back to be shown once. Only their hashes are stored; nothing here logs them.
 */
import { issueApiKey } from '../auth/issue-key.ts';
import { generatePassword, hashPassword } from '../auth/passwords.ts';
import { StoreErrorCodes } from '../ports/errors.ts';
import type { Store } from '../ports/store.ts';

export interface BootstrapOptions {
  /** Default "admin". */
  adminUsername?: string;
  /** Sources the demo key may send. Default: the four products of the shipped ruleset. */
  demoSources?: string[];
  at?: Date;
}

export interface BootstrapResult {
  admin: { username: string; password: string };
  demoKey: { id: string; name: string; key: string; prefix: string; sources: string[] };
}

export const DEMO_SOURCES = ['voice-platform', 'sms-gateway', 'mobile-core', 'storage-svc'];

/** Undefined when the store already has accounts or keys (or another process bootstrapped it first). */
export async function bootstrap(store: Store, options: BootstrapOptions = {}): Promise<BootstrapResult | undefined> {
  const [accounts, keys] = await Promise.all([store.listAccounts(), store.listApiKeys()]);
  if (accounts.length > 0 || keys.length > 0) return undefined;
  const username = options.adminUsername ?? 'admin';
  const password = generatePassword();
  const at = options.at ?? new Date();
  try {
    await store.createAccount({ username, passwordHash: await hashPassword(password), role: 'admin', createdAt: at });
  } catch (error) {
    if ((error as { code?: string }).code === StoreErrorCodes.STORE_EXISTS) return undefined;
    throw error;
  }
  const sources = options.demoSources ?? DEMO_SOURCES;
  const { key, info } = await issueApiKey(store, { name: 'demo', sources, at });
  await store.appendAudit({ actor: 'bootstrap', action: 'account.create', target: username, after: { role: 'admin' }, at });
  await store.appendAudit({ actor: 'bootstrap', action: 'key.create', target: info.prefix, after: { name: info.name, sources }, at });
  return { admin: { username, password }, demoKey: { id: info.id, name: info.name, key, prefix: info.prefix, sources } };
}
