/** Keys, accounts, audit and rulesets in PostgreSQL: plain CRUD, writes through the same group commit. */
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
import type { AccountRow, ApiKeyRow, AuditRow, RulesetRow } from '../../ports/store-rows.js';
import type { AccountStore, AuditStore, KeyStore, RulesetStore } from '../../ports/store.js';
import { ACCOUNT_COLUMNS, API_KEY_COLUMNS, AUDIT_COLUMNS } from './columns.js';
import type { PgContext } from './context.js';
import { Where } from './sql.js';

export function pgAdmin({ t, writer, read, open }: PgContext): KeyStore & AccountStore & AuditStore & RulesetStore {
  const insertKey = `
    INSERT INTO ${t.apiKeys} (name, prefix, hash, sources, created_at) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (prefix) DO NOTHING RETURNING ${API_KEY_COLUMNS}`;
  const activeKey = `SELECT ${API_KEY_COLUMNS} FROM ${t.apiKeys} WHERE prefix = $1 AND revoked_at IS NULL`;
  const allKeys = `SELECT ${API_KEY_COLUMNS} FROM ${t.apiKeys} ORDER BY id`;
  const revokeKey = `UPDATE ${t.apiKeys} SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1 RETURNING ${API_KEY_COLUMNS}`;

  const insertAccount = `
    INSERT INTO ${t.accounts} (username, password_hash, role, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
    ON CONFLICT (username) DO NOTHING RETURNING ${ACCOUNT_COLUMNS}`;
  const accountByName = `SELECT ${ACCOUNT_COLUMNS} FROM ${t.accounts} WHERE username = $1`;
  const allAccounts = `SELECT ${ACCOUNT_COLUMNS} FROM ${t.accounts} ORDER BY username COLLATE "C"`;
  const updateAccount = `
    UPDATE ${t.accounts} SET password_hash = coalesce($2, password_hash), role = coalesce($3, role), updated_at = $4
    WHERE username = $1 RETURNING ${ACCOUNT_COLUMNS}`;
  const deleteAccount = `DELETE FROM ${t.accounts} WHERE username = $1 RETURNING username`;

  const insertAudit = `
    INSERT INTO ${t.audit} (actor, action, target, before, after, at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${AUDIT_COLUMNS}`;

  const insertRuleset = `INSERT INTO ${t.rulesets} (version, files, activated_by, at) VALUES ($1, $2, $3, $4)`;
  const activations = `SELECT version, activated_by AS "activatedBy", at FROM ${t.rulesets} ORDER BY id DESC`;
  const rulesetByVersion = `SELECT id, version, files, activated_by AS "activatedBy", at FROM ${t.rulesets} WHERE version = $1 ORDER BY id DESC LIMIT 1`;

  return {
    async createApiKey(key) {
      open();
      const k = prepareApiKey(key);
      const [row] = await writer.run((query) => query<ApiKeyRow>(insertKey, [k.name, k.prefix, k.hash, JSON.stringify(k.sources), k.createdAt]));
      if (!row) throw new StoreExistsError('API key prefix', k.prefix);
      return toKeyInfo(row);
    },

    async findApiKeyByPrefix(prefix) {
      open();
      const [row] = await read<ApiKeyRow>(activeKey, [text(prefix, 'prefix')], 'blh_key_by_prefix');
      return row && { ...toKeyInfo(row), hash: row.hash };
    },

    async listApiKeys() {
      open();
      return (await read<ApiKeyRow>(allKeys)).map(toKeyInfo);
    },

    async revokeApiKey(id, at) {
      open();
      const r = prepareRevoke(id, at);
      const n = rowNumber(r.id);
      const [row] = n === null ? [] : await writer.run((query) => query<ApiKeyRow>(revokeKey, [n, r.at]));
      if (!row) throw new StoreNotFoundError('API key', r.id);
      return toKeyInfo(row);
    },

    async createAccount(account) {
      open();
      const a = prepareAccount(account);
      const [row] = await writer.run((query) => query<AccountRow>(insertAccount, [a.username, a.passwordHash, a.role, a.createdAt]));
      if (!row) throw new StoreExistsError('account', a.username);
      return toAccountInfo(row);
    },

    async getAccount(username) {
      open();
      const [row] = await read<AccountRow>(accountByName, [text(username, 'username')]);
      return row && { ...toAccountInfo(row), passwordHash: row.passwordHash };
    },

    async listAccounts() {
      open();
      return (await read<AccountRow>(allAccounts)).map(toAccountInfo);
    },

    async updateAccount(username, patch) {
      open();
      const p = prepareAccountPatch(username, patch);
      const [row] = await writer.run((query) => query<AccountRow>(updateAccount, [p.username, p.passwordHash, p.role, p.at]));
      if (!row) throw new StoreNotFoundError('account', p.username);
      return toAccountInfo(row);
    },

    async deleteAccount(username) {
      open();
      const name = text(username, 'username');
      const deleted = await writer.run((query) => query(deleteAccount, [name]));
      if (deleted.length === 0) throw new StoreNotFoundError('account', name);
    },

    async appendAudit(entry) {
      open();
      const a = prepareAudit(entry);
      const [row] = await writer.run((query) => query<AuditRow>(insertAudit, [a.actor, a.action, a.target, a.before, a.after, a.at]));
      return toAudit(row);
    },

    async listAudit(filter) {
      open();
      const f = prepareAuditFilter(filter);
      const where = new Where();
      if (f.actor !== null) where.add('actor = ?', f.actor);
      if (f.action !== null) where.add('action = ?', f.action);
      if (f.target !== null) where.add('target = ?', f.target);
      if (f.from !== null) where.add('at >= ?', f.from);
      if (f.to !== null) where.add('at < ?', f.to);
      if (f.before !== null) where.add('id < ?', f.before);
      const rows = await read<AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM ${t.audit} ${where} ORDER BY id DESC LIMIT ${where.param(f.limit + 1)}`, where.values);
      return toPage(rows.map(toAudit), f.limit, (a) => a.id);
    },

    async saveRulesetVersion(entry) {
      open();
      const r = prepareRuleset(entry);
      await writer.run((query) => query(insertRuleset, [r.version, r.files, r.activatedBy, r.at]));
    },

    async listRulesetVersions() {
      open();
      return (await read<Omit<RulesetRow, 'id' | 'files'>>(activations)).map(toRulesetActivation);
    },

    async getRulesetVersion(version) {
      open();
      const [row] = await read<RulesetRow>(rulesetByVersion, [text(version, 'version')]);
      return row && toRulesetVersion(row);
    },
  };
}
