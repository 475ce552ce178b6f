/**
 * The store's administrative side: API keys, accounts, the audit log and ruleset versions. Plain CRUD,
 * kept apart from the record path so an adapter could serve them from elsewhere.
 *
 * A mutation naming something that does not exist throws BLH_ERR_STORE_NOT_FOUND; a lookup answers
 * `undefined`. `createdAt`/`at` fields marked optional default to now.
 */
import type { Page, PageRequest } from './store.js';

/* ------------------------------------------------------------------ API keys */

/** The key shown once is `prefix.secret`; only the secret's hash is stored, found again by its prefix. */
export interface NewApiKey {
  name: string;
  /** The record sources this key may send. */
  sources: string[];
  prefix: string;
  hash: string;
  createdAt?: Date;
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  prefix: string;
  sources: string[];
  createdAt: Date;
  revokedAt: Date | null;
}

export interface ApiKey extends ApiKeyInfo {
  hash: string;
}

export interface KeyStore {
  /** Throws BLH_ERR_STORE_EXISTS when the prefix is taken. */
  createApiKey(key: NewApiKey): Promise<ApiKeyInfo>;
  /** Active keys only: a revoked key is not found, so an authenticator cannot forget to check. */
  findApiKeyByPrefix(prefix: string): Promise<ApiKey | undefined>;
  /** Every key, revoked ones too, oldest first; hashes are left out. */
  listApiKeys(): Promise<ApiKeyInfo[]>;
  /** Idempotent: revoking twice keeps the first time. */
  revokeApiKey(id: string, at?: Date): Promise<ApiKeyInfo>;
}

/* ------------------------------------------------------------------ accounts */

export interface NewAccount {
  username: string;
  passwordHash: string;
  role: string;
  createdAt?: Date;
}

export interface AccountInfo {
  username: string;
  role: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface Account extends AccountInfo {
  passwordHash: string;
}

export interface AccountPatch {
  passwordHash?: string;
  role?: string;
  at?: Date;
}

export interface AccountStore {
  /** Throws BLH_ERR_STORE_EXISTS when the username is taken. */
  createAccount(account: NewAccount): Promise<AccountInfo>;
  /** With the password hash, for logging in. */
  getAccount(username: string): Promise<Account | undefined>;
  /** Sorted by username; hashes are left out. */
  listAccounts(): Promise<AccountInfo[]>;
  updateAccount(username: string, patch: AccountPatch): Promise<AccountInfo>;
  deleteAccount(username: string): Promise<void>;
}

/* ------------------------------------------------------------------ audit */

export interface AuditEntry {
  actor: string;
  action: string;
  target?: string;
  before?: unknown;
  after?: unknown;
  at: Date;
}

export interface StoredAuditEntry {
  id: string;
  actor: string;
  action: string;
  target: string | null;
  before: unknown;
  after: unknown;
  at: Date;
}

export interface AuditFilter extends PageRequest {
  actor?: string;
  action?: string;
  target?: string;
  /** at in [from, to). */
  from?: Date;
  to?: Date;
}

/** Append-only on purpose: there is no update or delete. */
export interface AuditStore {
  appendAudit(entry: AuditEntry): Promise<StoredAuditEntry>;
  /** Newest first. */
  listAudit(filter?: AuditFilter): Promise<Page<StoredAuditEntry>>;
}

/* ------------------------------------------------------------------ rulesets */

export interface RulesetVersion {
  /** The hash of the ruleset's content. */
  version: string;
  /** Path → content of every file in the ruleset, so an old version can be inspected or restored. */
  files: Record<string, string>;
  activatedBy: string;
  at: Date;
}

export type RulesetActivation = Omit<RulesetVersion, 'files'>;

export interface RulesetStore {
  /** Records an activation; saving a version again (a rollback) adds another activation. */
  saveRulesetVersion(entry: RulesetVersion): Promise<void>;
  /** Every activation, newest first, without the files (they can be large). */
  listRulesetVersions(): Promise<RulesetActivation[]>;
  /** The files of a version, from its latest activation. */
  getRulesetVersion(version: string): Promise<RulesetVersion | undefined>;
}
