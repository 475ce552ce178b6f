/**
 * Who is calling. Record routes take an API key (`X-API-Key: <key>` or `Authorization: Bearer <key>`);
 * admin routes take a key with the `@admin` scope or an admin account by HTTP Basic auth. Keys are
 * looked up in the store on every request, so a key revoked (even by the CLI in another process) stops
 * working at the next request; a store may answer from a cache only while nothing has changed (the
 * SQLite store does: src/adapters/sqlite/key-cache.ts). Nothing here logs a key, a secret or a password.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parseApiKey, verifySecret } from '../auth/api-keys.ts';
import { hashPassword, verifyPassword } from '../auth/passwords.ts';
import { isAdminScope } from '../auth/scopes.ts';
import type { ApiKey } from '../ports/admin-store.ts';
import type { Store } from '../ports/store.ts';
import { forbidden, unauthorized } from './errors.ts';

export interface Principal {
  kind: 'key' | 'account';
  /** The key's id, or the account's username. */
  id: string;
  /** The key's name (or the username): what logs and audit entries show. */
  name: string;
  /** Key prefix: the public half of a key, safe to show. */
  prefix?: string;
  /** The sources a key may send and read (see src/auth/scopes.ts); empty for accounts. */
  scopes: string[];
  admin: boolean;
}

/** A matching hash for the "unknown key" path, so a miss costs what a hit costs. */
const DUMMY_HASH = 'sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const header = headers['x-api-key'];
  if (typeof header === 'string' && header !== '') return header.trim();
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^bearer /i.test(auth)) return auth.slice(7).trim();
  return undefined;
}

interface Verified {
  /** The store's key object the secret was checked against. */
  key: ApiKey;
  principal: Principal;
}

/** Keys whose secret was checked, by the whole presented key, per store; bounded, emptied when full. */
const verified = new WeakMap<Store, Map<string, Verified>>();
const MAX_VERIFIED = 1000;

export async function authenticateKey(store: Store, raw: string | undefined): Promise<Principal> {
  if (raw === undefined) throw unauthorized('an API key is required: send it as "X-API-Key: <key>" or "Authorization: Bearer <key>"');
  const parts = parseApiKey(raw);
  if (!parts) throw unauthorized('the API key is not valid (keys look like blh_xxxxxxxxxx.<secret>)');
  const key = await store.findApiKeyByPrefix(parts.prefix);
  // The same presented key against the very key object it was checked against: the answer is known.
  // A store that reads the key again (any change, or no cache) hands out a new object: checked again.
  let seen = verified.get(store);
  const known = key && seen?.get(raw);
  if (known && known.key === key) return known.principal;
  const ok = verifySecret(parts.secret, key?.hash ?? DUMMY_HASH);
  if (!key || !ok) throw unauthorized('the API key is unknown or revoked');
  const principal: Principal = { kind: 'key', id: key.id, name: key.name, prefix: key.prefix, scopes: key.sources, admin: isAdminScope(key.sources) };
  if (!seen) verified.set(store, (seen = new Map()));
  if (seen.size >= MAX_VERIFIED) seen.clear();
  seen.set(raw, { key, principal });
  return principal;
}

let dummyPasswordHash: Promise<string> | undefined;

/** An admin: a key with the @admin scope, or an account with role admin by HTTP Basic auth. */
export async function authenticateAdmin(store: Store, headers: IncomingHttpHeaders): Promise<Principal> {
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^basic /i.test(auth)) {
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const username = colon > 0 ? decoded.slice(0, colon) : '';
    const password = colon > 0 ? decoded.slice(colon + 1) : '';
    const account = username ? await store.getAccount(username) : undefined;
    // Verify against something even when there is no such account, so timing does not tell usernames.
    const ok = await verifyPassword(password, account?.passwordHash ?? (await (dummyPasswordHash ??= hashPassword('not a password'))));
    if (!account || !ok) throw unauthorized('the username or password is wrong');
    if (account.role !== 'admin') throw forbidden(`the account "${account.username}" is not an admin`);
    return { kind: 'account', id: account.username, name: account.username, scopes: [], admin: true };
  }
  const principal = await authenticateKey(store, presentedKey(headers));
  if (!principal.admin) throw forbidden('this route needs an API key with the @admin scope, or an admin account');
  return principal;
}
