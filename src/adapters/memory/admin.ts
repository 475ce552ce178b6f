/** Keys, accounts, audit and rulesets in memory. */
import {
  prepareAccount,
  prepareAccountPatch,
  prepareApiKey,
  prepareAudit,
  prepareAuditFilter,
  prepareRevoke,
  prepareRuleset,
} from '../../ports/admin-input.js';
import { StoreExistsError, StoreNotFoundError } from '../../ports/errors.js';
import { rowNumber, text, toPage } from '../../ports/store-input.js';
import { toAccountInfo, toAudit, toKeyInfo, toRulesetActivation, toRulesetVersion } from '../../ports/store-rows.js';
import type { AccountRow, ApiKeyRow, AuditRow } from '../../ports/store-rows.js';
import type { AccountStore, AuditStore, KeyStore, RulesetStore } from '../../ports/store.js';
import { inRange, newestFirst } from './state.js';
import type { MemoryState } from './state.js';

export function memoryAdmin(state: MemoryState): KeyStore & AccountStore & AuditStore & RulesetStore {
  function account(username: string): AccountRow {
    const row = state.accounts.get(text(username, 'username'));
    if (!row) throw new StoreNotFoundError('account', username);
    return row;
  }

  return {
    async createApiKey(key) {
      state.open();
      const k = prepareApiKey(key);
      for (const row of state.apiKeys.values()) if (row.prefix === k.prefix) throw new StoreExistsError('API key prefix', k.prefix);
      const row: ApiKeyRow = { ...k, sources: JSON.stringify(k.sources), id: state.nextId(), revokedAt: null };
      state.apiKeys.set(row.id, row);
      return toKeyInfo(row);
    },

    async findApiKeyByPrefix(prefix) {
      state.open();
      const p = text(prefix, 'prefix');
      for (const row of state.apiKeys.values()) {
        if (row.prefix === p && row.revokedAt === null) return { ...toKeyInfo(row), hash: row.hash };
      }
      return undefined;
    },

    async listApiKeys() {
      state.open();
      return [...state.apiKeys.values()].sort((a, b) => a.id - b.id).map(toKeyInfo);
    },

    async revokeApiKey(id, at) {
      state.open();
      const r = prepareRevoke(id, at);
      const row = state.apiKeys.get(rowNumber(r.id) ?? -1);
      if (!row) throw new StoreNotFoundError('API key', r.id);
      row.revokedAt ??= r.at;
      return toKeyInfo(row);
    },

    async createAccount(input) {
      state.open();
      const a = prepareAccount(input);
      if (state.accounts.has(a.username)) throw new StoreExistsError('account', a.username);
      const row: AccountRow = { ...a, updatedAt: a.createdAt };
      state.accounts.set(row.username, row);
      return toAccountInfo(row);
    },

    async getAccount(username) {
      state.open();
      const row = state.accounts.get(text(username, 'username'));
      return row && { ...toAccountInfo(row), passwordHash: row.passwordHash };
    },

    async listAccounts() {
      state.open();
      return [...state.accounts.values()].sort((a, b) => (a.username < b.username ? -1 : 1)).map(toAccountInfo);
    },

    async updateAccount(username, patch) {
      state.open();
      const p = prepareAccountPatch(username, patch);
      const row = account(p.username);
      if (p.passwordHash !== null) row.passwordHash = p.passwordHash;
      if (p.role !== null) row.role = p.role;
      row.updatedAt = p.at;
      return toAccountInfo(row);
    },

    async deleteAccount(username) {
      state.open();
      state.accounts.delete(account(username).username);
    },

    async appendAudit(entry) {
      state.open();
      const row: AuditRow = { ...prepareAudit(entry), id: state.nextId() };
      state.audit.push(row);
      return toAudit(row);
    },

    async listAudit(filter) {
      state.open();
      const f = prepareAuditFilter(filter);
      const rows = newestFirst(state.audit, (a) => a.id, f.before, f.limit, (a) =>
        (f.actor === null || a.actor === f.actor) &&
        (f.action === null || a.action === f.action) &&
        (f.target === null || a.target === f.target) &&
        inRange(a.at, f.from, f.to),
      );
      return toPage(rows.map(toAudit), f.limit, (a) => a.id);
    },

    async saveRulesetVersion(entry) {
      state.open();
      state.rulesets.push({ ...prepareRuleset(entry), id: state.nextId() });
    },

    async listRulesetVersions() {
      state.open();
      return [...state.rulesets].reverse().map(toRulesetActivation);
    },

    async getRulesetVersion(version) {
      state.open();
      const v = text(version, 'version');
      const row = [...state.rulesets].reverse().find((r) => r.version === v);
      return row && toRulesetVersion(row);
    },
  };
}
