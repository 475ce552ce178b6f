import { describe, expect, it } from 'vitest';
import { at, expectCode, T0, useStore } from './fixtures.js';
import type { StoreFactory } from './fixtures.js';

export function adminConformance(factory: StoreFactory): void {
  describe('API keys', () => {
    const store = useStore(factory);
    const key = (prefix: string, name = `key ${prefix}`) => ({ name, sources: ['telecom', 'energy'], prefix, hash: `scrypt$${prefix}`, createdAt: T0 });

    it('finds an active key by its prefix, with its hash', async () => {
      const created = await store().createApiKey(key('blh_a1'));
      expect(created).toEqual({ id: expect.any(String), name: 'key blh_a1', prefix: 'blh_a1', sources: ['telecom', 'energy'], createdAt: T0, revokedAt: null });
      expect(await store().findApiKeyByPrefix('blh_a1')).toEqual({ ...created, hash: 'scrypt$blh_a1' });
      expect(await store().findApiKeyByPrefix('blh_zz')).toBeUndefined();
    });

    it('refuses a prefix that is taken', async () => {
      await store().createApiKey(key('blh_a1'));
      await expectCode(store().createApiKey(key('blh_a1', 'other')), 'BLH_ERR_STORE_EXISTS');
    });

    it('revokes a key: no longer found, still listed with when, and revoking again keeps the first time', async () => {
      const a = await store().createApiKey(key('blh_a1'));
      const b = await store().createApiKey(key('blh_b2'));
      expect(await store().revokeApiKey(a.id, at(1000))).toMatchObject({ id: a.id, revokedAt: at(1000) });
      expect(await store().revokeApiKey(a.id, at(2000))).toMatchObject({ revokedAt: at(1000) });
      expect(await store().findApiKeyByPrefix('blh_a1')).toBeUndefined();
      const list = await store().listApiKeys();
      expect(list).toEqual([{ ...a, revokedAt: at(1000) }, b]);
      expect(list[0]).not.toHaveProperty('hash');
      await expectCode(store().revokeApiKey('999999'), 'BLH_ERR_STORE_NOT_FOUND');
    });
  });

  describe('accounts', () => {
    const store = useStore(factory);
    const account = (username: string, role = 'operator') => ({ username, passwordHash: `hash-${username}`, role, createdAt: T0 });

    it('creates, reads, lists, updates and deletes accounts', async () => {
      expect(await store().createAccount(account('rui'))).toEqual({ username: 'rui', role: 'operator', createdAt: T0, updatedAt: T0 });
      await store().createAccount(account('ana', 'admin'));
      expect(await store().getAccount('ana')).toEqual({ username: 'ana', role: 'admin', passwordHash: 'hash-ana', createdAt: T0, updatedAt: T0 });
      expect((await store().listAccounts()).map((a) => a.username)).toEqual(['ana', 'rui']);
      expect((await store().listAccounts())[0]).not.toHaveProperty('passwordHash');

      expect(await store().updateAccount('rui', { role: 'viewer', at: at(1000) })).toEqual({ username: 'rui', role: 'viewer', createdAt: T0, updatedAt: at(1000) });
      await store().updateAccount('rui', { passwordHash: 'new-hash', at: at(2000) });
      expect(await store().getAccount('rui')).toMatchObject({ role: 'viewer', passwordHash: 'new-hash', updatedAt: at(2000) });

      await store().deleteAccount('rui');
      expect(await store().getAccount('rui')).toBeUndefined();
      expect((await store().listAccounts()).map((a) => a.username)).toEqual(['ana']);
    });

    it('refuses a taken username and changes to accounts it does not have', async () => {
      await store().createAccount(account('ana'));
      await expectCode(store().createAccount(account('ana')), 'BLH_ERR_STORE_EXISTS');
      await expectCode(store().updateAccount('zé', { role: 'admin' }), 'BLH_ERR_STORE_NOT_FOUND');
      await expectCode(store().deleteAccount('zé'), 'BLH_ERR_STORE_NOT_FOUND');
      expect(await store().getAccount('zé')).toBeUndefined();
    });
  });

  describe('audit', () => {
    const store = useStore(factory);

    it('appends entries and lists them newest first, filtered and paged', async () => {
      const first = await store().appendAudit({ actor: 'ana', action: 'account.create', target: 'rui', after: { role: 'operator' }, at: at(1000) });
      expect(first).toEqual({ id: expect.any(String), actor: 'ana', action: 'account.create', target: 'rui', before: null, after: { role: 'operator' }, at: at(1000) });
      await store().appendAudit({ actor: 'ana', action: 'ruleset.activate', target: 'v2', before: { version: 'v1' }, after: { version: 'v2' }, at: at(2000) });
      await store().appendAudit({ actor: 'rui', action: 'deadletter.retry', target: '17', at: at(3000) });
      await store().appendAudit({ actor: 'ana', action: 'login', at: at(4000) });

      const actions = async (filter: Parameters<ReturnType<typeof store>['listAudit']>[0]) => (await store().listAudit(filter)).items.map((e) => e.action);
      expect(await actions({})).toEqual(['login', 'deadletter.retry', 'ruleset.activate', 'account.create']);
      expect(await actions({ actor: 'ana' })).toEqual(['login', 'ruleset.activate', 'account.create']);
      expect(await actions({ action: 'ruleset.activate' })).toEqual(['ruleset.activate']);
      expect(await actions({ target: 'rui' })).toEqual(['account.create']);
      expect(await actions({ from: at(2000), to: at(4000) })).toEqual(['deadletter.retry', 'ruleset.activate']);
      const page = await store().listAudit({ limit: 3 });
      expect((await store().listAudit({ limit: 3, cursor: page.nextCursor! })).items).toEqual([first]);
    });

    it('has no way to change or delete an entry', () => {
      const names = Object.keys(store());
      expect(names.filter((n) => /audit/i.test(n)).sort()).toEqual(['appendAudit', 'listAudit']);
    });
  });

  describe('ruleset versions', () => {
    const store = useStore(factory);

    it('records each activation, lists them newest first without files, and returns a version’s files', async () => {
      const v1 = { version: 'sha256-aaa', files: { 'rules/call.json': '{"a":1}', 'mappings/lago/call.jsonata': '{ "x": 1 }' }, activatedBy: 'ana', at: at(1000) };
      const v2 = { version: 'sha256-bbb', files: { 'rules/call.json': '{"a":2}' }, activatedBy: 'rui', at: at(2000) };
      await store().saveRulesetVersion(v1);
      await store().saveRulesetVersion(v2);
      await store().saveRulesetVersion({ ...v1, activatedBy: 'ana', at: at(3000) });
      expect(await store().listRulesetVersions()).toEqual([
        { version: 'sha256-aaa', activatedBy: 'ana', at: at(3000) },
        { version: 'sha256-bbb', activatedBy: 'rui', at: at(2000) },
        { version: 'sha256-aaa', activatedBy: 'ana', at: at(1000) },
      ]);
      expect(await store().getRulesetVersion('sha256-bbb')).toEqual(v2);
      expect(await store().getRulesetVersion('sha256-aaa')).toEqual({ ...v1, at: at(3000) });
      expect(await store().getRulesetVersion('sha256-ccc')).toBeUndefined();
    });
  });
}
