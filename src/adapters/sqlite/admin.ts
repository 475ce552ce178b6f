/** Keys, accounts, audit and rulesets in SQLite: plain CRUD, writes through the same group commit. */
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
import { ACCOUNT_COLUMNS, API_KEY_COLUMNS } from './columns.js';
import type { SqliteContext } from './context.js';

const AUDIT_COLUMNS = 'id, actor, action, target, before, after, at';
const RULESET_COLUMNS = 'id, version, files, activated_by AS activatedBy, at';

export function sqliteAdmin({ db, writer, cached, open }: SqliteContext): KeyStore & AccountStore & AuditStore & RulesetStore {
  const insertKey = db.prepare(`
    INSERT INTO api_keys (name, prefix, hash, sources, created_at) VALUES (@name, @prefix, @hash, @sources, @createdAt)
    ON CONFLICT (prefix) DO NOTHING RETURNING ${API_KEY_COLUMNS}`);
  const activeKey = db.prepare(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE prefix = ? AND revoked_at IS NULL`);
  const allKeys = db.prepare(`SELECT ${API_KEY_COLUMNS} FROM api_keys ORDER BY id`);
  const revokeKey = db.prepare(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, @at) WHERE id = @id RETURNING ${API_KEY_COLUMNS}`);

  const insertAccount = db.prepare(`
    INSERT INTO accounts (username, password_hash, role, created_at, updated_at)
    VALUES (@username, @passwordHash, @role, @createdAt, @createdAt)
    ON CONFLICT (username) DO NOTHING RETURNING ${ACCOUNT_COLUMNS}`);
  const accountByName = db.prepare(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE username = ?`);
  const allAccounts = db.prepare(`SELECT ${ACCOUNT_COLUMNS} FROM accounts ORDER BY username`);
  const updateAccount = db.prepare(`
    UPDATE accounts SET password_hash = coalesce(@passwordHash, password_hash), role = coalesce(@role, role), updated_at = @at
    WHERE username = @username RETURNING ${ACCOUNT_COLUMNS}`);
  const deleteAccount = db.prepare('DELETE FROM accounts WHERE username = ?');

  const insertAudit = db.prepare(`
    INSERT INTO audit (actor, action, target, before, after, at) VALUES (@actor, @action, @target, @before, @after, @at)
    RETURNING ${AUDIT_COLUMNS}`);

  const insertRuleset = db.prepare('INSERT INTO rulesets (version, files, activated_by, at) VALUES (@version, @files, @activatedBy, @at)');
  const activations = db.prepare('SELECT version, activated_by AS activatedBy, at FROM rulesets ORDER BY id DESC');
  const rulesetByVersion = db.prepare(`SELECT ${RULESET_COLUMNS} FROM rulesets WHERE version = ? ORDER BY id DESC LIMIT 1`);

  return {
    async createApiKey(key) {
      open();
      const k = prepareApiKey(key);
      const row = await writer.run(() => insertKey.get({ ...k, sources: JSON.stringify(k.sources) }) as ApiKeyRow | undefined);
      if (!row) throw new StoreExistsError('API key prefix', k.prefix);
      return toKeyInfo(row);
    },

    async findApiKeyByPrefix(prefix) {
      open();
      const row = activeKey.get(text(prefix, 'prefix')) as ApiKeyRow | undefined;
      return row && { ...toKeyInfo(row), hash: row.hash };
    },

    async listApiKeys() {
      open();
      return (allKeys.all() as ApiKeyRow[]).map(toKeyInfo);
    },

    async revokeApiKey(id, at) {
      open();
      const r = prepareRevoke(id, at);
      const n = rowNumber(r.id);
      const row = n === null ? undefined : await writer.run(() => revokeKey.get({ id: n, at: r.at }) as ApiKeyRow | undefined);
      if (!row) throw new StoreNotFoundError('API key', r.id);
      return toKeyInfo(row);
    },

    async createAccount(account) {
      open();
      const a = prepareAccount(account);
      const row = await writer.run(() => insertAccount.get(a) as AccountRow | undefined);
      if (!row) throw new StoreExistsError('account', a.username);
      return toAccountInfo(row);
    },

    async getAccount(username) {
      open();
      const row = accountByName.get(text(username, 'username')) as AccountRow | undefined;
      return row && { ...toAccountInfo(row), passwordHash: row.passwordHash };
    },

    async listAccounts() {
      open();
      return (allAccounts.all() as AccountRow[]).map(toAccountInfo);
    },

    async updateAccount(username, patch) {
      open();
      const p = prepareAccountPatch(username, patch);
      const row = await writer.run(() => updateAccount.get(p) as AccountRow | undefined);
      if (!row) throw new StoreNotFoundError('account', p.username);
      return toAccountInfo(row);
    },

    async deleteAccount(username) {
      open();
      const name = text(username, 'username');
      const deleted = await writer.run(() => deleteAccount.run(name).changes);
      if (deleted === 0) throw new StoreNotFoundError('account', name);
    },

    async appendAudit(entry) {
      open();
      const a = prepareAudit(entry);
      return toAudit(await writer.run(() => insertAudit.get(a) as AuditRow));
    },

    async listAudit(filter) {
      open();
      const f = prepareAuditFilter(filter);
      const where: string[] = [];
      if (f.actor !== null) where.push('actor = @actor');
      if (f.action !== null) where.push('action = @action');
      if (f.target !== null) where.push('target = @target');
      if (f.from !== null) where.push('at >= @from');
      if (f.to !== null) where.push('at < @to');
      if (f.before !== null) where.push('id < @before');
      const sql = `SELECT ${AUDIT_COLUMNS} FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`;
      const rows = cached(sql).all({ ...f, limit: f.limit + 1 }) as AuditRow[];
      return toPage(rows.map(toAudit), f.limit, (a) => a.id);
    },

    async saveRulesetVersion(entry) {
      open();
      const r = prepareRuleset(entry);
      await writer.run(() => insertRuleset.run(r));
    },

    async listRulesetVersions() {
      open();
      return (activations.all() as Omit<RulesetRow, 'id' | 'files'>[]).map(toRulesetActivation);
    },

    async getRulesetVersion(version) {
      open();
      const row = rulesetByVersion.get(text(version, 'version')) as RulesetRow | undefined;
      return row && toRulesetVersion(row);
    },
  };
}
