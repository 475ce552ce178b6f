/** Input checks for keys, accounts, audit and rulesets, shared by every adapter (see store-input.ts for why). */
import { StoreInputError } from './errors.js';
import { json, millis, object, optionalMillis, optionalText, preparePage, text } from './store-input.js';
import type { PreparedPage } from './store-input.js';
import type { AccountPatch, AuditEntry, AuditFilter, NewAccount, NewApiKey, RulesetVersion } from './admin-store.js';

/** The documented default for optional creation times; the only clock the adapters read. */
function atOrNow(value: Date | undefined, field: string): number {
  return value === undefined ? Date.now() : millis(value, field);
}

export function prepareApiKey(key: NewApiKey) {
  object(key, 'key');
  if (!Array.isArray(key.sources)) throw new StoreInputError('sources must be an array of strings', { field: 'sources' });
  return {
    name: text(key.name, 'name'),
    sources: key.sources.map((source, i) => text(source, `sources[${i}]`)),
    prefix: text(key.prefix, 'prefix'),
    hash: text(key.hash, 'hash'),
    createdAt: atOrNow(key.createdAt, 'createdAt'),
  };
}

export function prepareRevoke(id: string, at: Date | undefined) {
  return { id: text(id, 'id'), at: atOrNow(at, 'at') };
}

export function prepareAccount(account: NewAccount) {
  object(account, 'account');
  return {
    username: text(account.username, 'username'),
    passwordHash: text(account.passwordHash, 'passwordHash'),
    role: text(account.role, 'role'),
    createdAt: atOrNow(account.createdAt, 'createdAt'),
  };
}

export function prepareAccountPatch(username: string, patch: AccountPatch) {
  object(patch, 'patch');
  return {
    username: text(username, 'username'),
    passwordHash: optionalText(patch.passwordHash, 'passwordHash'),
    role: optionalText(patch.role, 'role'),
    at: atOrNow(patch.at, 'at'),
  };
}

export function prepareAudit(entry: AuditEntry) {
  object(entry, 'entry');
  return {
    actor: text(entry.actor, 'actor'),
    action: text(entry.action, 'action'),
    target: optionalText(entry.target, 'target'),
    before: json(entry.before, 'before'),
    after: json(entry.after, 'after'),
    at: millis(entry.at, 'at'),
  };
}

export interface PreparedAuditFilter extends PreparedPage {
  actor: string | null;
  action: string | null;
  target: string | null;
  from: number | null;
  to: number | null;
}

export function prepareAuditFilter(filter: AuditFilter = {}): PreparedAuditFilter {
  object(filter, 'filter');
  return {
    ...preparePage(filter),
    actor: optionalText(filter.actor, 'actor'),
    action: optionalText(filter.action, 'action'),
    target: optionalText(filter.target, 'target'),
    from: optionalMillis(filter.from, 'from'),
    to: optionalMillis(filter.to, 'to'),
  };
}

export function prepareRuleset(entry: RulesetVersion) {
  object(entry, 'entry');
  const files = object(entry.files, 'files');
  for (const [path, content] of Object.entries(files)) {
    if (typeof content !== 'string') throw new StoreInputError(`files["${path}"] must be a string`, { field: 'files', path });
  }
  return {
    version: text(entry.version, 'version'),
    files: JSON.stringify(files),
    activatedBy: text(entry.activatedBy, 'activatedBy'),
    at: millis(entry.at, 'at'),
  };
}
