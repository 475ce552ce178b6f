import { afterEach, describe, expect, it } from 'vitest';
import { issueApiKey } from '../../src/auth/index.ts';
import { copyRuleset } from '../support/ruleset.ts';
import { testServer, voice } from './helpers.ts';

const copies: ReturnType<typeof copyRuleset>[] = [];
afterEach(() => {
  for (const c of copies.splice(0)) c.cleanup();
});

function ruleset() {
  const copy = copyRuleset();
  copies.push(copy);
  return copy;
}

/** Adds customer "newco" to the reference data: a change of content, so a new version. */
function addCustomer(copy: ReturnType<typeof copyRuleset>) {
  const file = JSON.parse(copy.read('rules/reference/customers.json'));
  file.rows.push({ ...file.rows[0], id: 'newco', name: 'NewCo' });
  copy.write('rules/reference/customers.json', file);
}

async function until(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function adminServer(options: Parameters<typeof testServer>[0]) {
  const s = await testServer(options);
  const { key: admin } = await issueApiKey(s.store, { name: 'ops', sources: ['@admin'] });
  const reload = () => s.app.inject({ method: 'POST', url: '/admin/ruleset/reload', headers: { 'x-api-key': admin } });
  const state = async () => (await s.app.inject({ method: 'GET', url: '/admin/ruleset', headers: { 'x-api-key': admin } })).json();
  return { ...s, reload, state };
}

describe('ruleset reload', () => {
  it('POST /admin/ruleset/reload swaps a changed ruleset in; every record keeps the version that judged it', async () => {
    const copy = ruleset();
    const s = await adminServer({ rules: copy.rules, mappings: copy.mappings });
    const before = (await s.post(voice({ id: 'r1', subject: 'newco' }))).json();
    expect(before.errors[0].code).toBe('UNKNOWN_CUSTOMER');
    const v1 = before.rulesetVersion;

    addCustomer(copy);
    const res = await s.reload();
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ changed: true, previous: v1, lastReloadError: null });
    expect(body.version).not.toBe(v1);

    const after = await s.post(voice({ id: 'r2', subject: 'newco' }));
    expect(after.statusCode).toBe(202);
    expect(after.json().rulesetVersion).toBe(body.version);
    expect((await s.store.getRecord('voice-platform', 'r2'))!.rulesetVersion).toBe(body.version);
    expect((await s.store.listRejections({ id: 'r1' })).items[0].rulesetVersion).toBe(v1);

    // The activations are kept with their files, and the change is audited.
    const versions = await s.store.listRulesetVersions();
    expect(versions.map((v) => v.version)).toEqual([body.version, v1]);
    expect(Object.keys((await s.store.getRulesetVersion(body.version))!.files)).toContain('rules/reference/customers.json');
    expect((await s.store.listAudit({ action: 'ruleset.reload' })).items).toMatchObject([{ actor: 'ops', before: v1, after: body.version }]);
  });

  it('reloading unchanged files changes nothing', async () => {
    const copy = ruleset();
    const s = await adminServer({ rules: copy.rules, mappings: copy.mappings });
    const res = await s.reload();
    expect(res.json()).toMatchObject({ changed: false });
    expect(await s.store.listRulesetVersions()).toHaveLength(1);
  });

  it('a bad ruleset is refused: the old one keeps running, and the error is shown in /admin/ruleset, /readyz and /metrics', async () => {
    const copy = ruleset();
    const s = await adminServer({ rules: copy.rules, mappings: copy.mappings });
    const v1 = s.app.bilhetagem.ruleset!.version;
    copy.write('rules/rules/voice.rules.json', '{ "rules": [ oops');
    const res = await s.reload();
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'BLH_ERR_RULESET_RELOAD', running: v1, error: { code: 'BLH_ERR_JSON_PARSE' } });
    expect(res.json().message).toContain('voice.rules.json');

    expect((await s.post(voice())).json().rulesetVersion).toBe(v1);
    expect(await s.state()).toMatchObject({ version: v1, lastReloadError: { trigger: 'api:ops', error: { code: 'BLH_ERR_JSON_PARSE' } } });
    const ready = await s.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ rulesetVersion: v1, lastReloadError: { error: { code: 'BLH_ERR_JSON_PARSE' } } });
    const metrics = (await s.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('bilhetagem_ruleset_reload_failing 1');
    expect(metrics).toContain('bilhetagem_ruleset_reloads_total{result="failed"} 1');
    expect(s.logs.lines.some((l) => l.event === 'ruleset:rejected' && l.level === 50)).toBe(true);

    // Fixed files load again and clear the error.
    copy.write('rules/rules/voice.rules.json', ruleset().read('rules/rules/voice.rules.json'));
    addCustomer(copy);
    expect((await s.reload()).statusCode).toBe(200);
    expect(await s.state()).toMatchObject({ lastReloadError: null });
  });

  it('a ruleset that parses but does not compile is refused too', async () => {
    const copy = ruleset();
    const s = await adminServer({ rules: copy.rules, mappings: copy.mappings });
    copy.write('mappings/default/sms.sent.mapping.json', { ...JSON.parse(copy.read('mappings/default/sms.sent.mapping.json')), expression: '{ "a": ' });
    const res = await s.reload();
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('BLH_ERR_MAPPING_SYNTAX');
  });

  it('watches the files: a change is loaded by itself, a bad change is refused and logged', async () => {
    const copy = ruleset();
    const s = await adminServer({ rules: copy.rules, mappings: copy.mappings, watch: true, watchDebounceMs: 50 });
    await s.app.ready();
    const v1 = s.app.bilhetagem.ruleset!.version;
    addCustomer(copy);
    await until(() => s.app.bilhetagem.ruleset!.version !== v1);
    expect((await s.post(voice({ subject: 'newco' }))).statusCode).toBe(202);
    const v2 = s.app.bilhetagem.ruleset!.version;

    copy.write('rules/manifest.json', '{');
    await until(() => s.app.bilhetagem.lastReloadFailure !== undefined);
    expect(s.app.bilhetagem.ruleset!.version).toBe(v2);
    expect(s.app.bilhetagem.lastReloadFailure).toMatchObject({ trigger: 'watch', error: { code: 'BLH_ERR_JSON_PARSE' } });
  });

  it('a server whose first ruleset is bad does not start: buildServer rejects with the ruleset error', async () => {
    const copy = ruleset();
    copy.write('rules/manifest.json', '{');
    await expect(testServer({ rules: copy.rules, mappings: copy.mappings })).rejects.toMatchObject({ code: 'BLH_ERR_JSON_PARSE' });
  });
});
