/** The panel's JSON API page by page, over HTTP (inject), with records sent through the real ingest route. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import { createForwarder } from '../../src/forwarder/index.ts';
import { startBiller, waitFor } from '../forwarder/support.ts';
import { MAPPINGS_DIR, RULES_DIR } from '../support/ruleset.ts';
import { panelServer, PASSWORD, voiceRecord } from './support.ts';
import type { Client, PanelServer } from './support.ts';

let s: PanelServer;
let now: number;
let admin: Client;

beforeEach(async () => {
  now = Date.parse('2026-11-25T12:00:30Z');
  s = await panelServer({ clock: () => now });
  admin = await s.as('admin');
});
afterEach(async () => {
  await s.close();
});

const ids = (res: { json(): { items: { id: string }[] } }) => res.json().items.map((i) => i.id);

async function sendMix() {
  const res = await s.send([
    voiceRecord('ok-1', now),
    voiceRecord('ok-2', now, { subject: 'umbrella' }),
    voiceRecord('inbound', now, {}, { direction: 'inbound' }),
    voiceRecord('ghost', now, { subject: 'nobody' }),
    voiceRecord('bad', now, {}, { duration_s: 'long' }),
  ]);
  expect(res.statusCode).toBeLessThan(300);
}

/** Claims every row of `default` and dead-letters the ones of `ids`, acking the others. */
async function settle(deadIds: string[]) {
  const rows = await s.store.claim({ target: 'default', limit: 100, leaseMs: 60_000, worker: 'test', now: new Date(now) });
  for (const row of rows) {
    if (deadIds.includes(row.recordId)) await s.store.deadLetter(row, { at: new Date(now), reason: 'HTTP 400: unknown meter', code: 'HTTP_400', statusCode: 400, answer: { error: 'unknown meter' } });
    else await s.store.ack(row, { at: new Date(now), statusCode: 200, targetId: `t-${row.recordId}` });
  }
}

describe('page and assets', () => {
  it('serves the page at /admin with a strict content security policy, and its assets', async () => {
    const page = await s.app.inject({ method: 'GET', url: '/admin' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.body).toContain('/admin/assets/app.js');
    const js = await s.app.inject({ method: 'GET', url: '/admin/assets/app.js' });
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).not.toMatch(/innerHTML|insertAdjacentHTML|eval\(/);
    const again = await s.app.inject({ method: 'GET', url: '/admin/assets/app.js', headers: { 'if-none-match': String(js.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect((await s.app.inject({ method: 'GET', url: '/admin/assets/app.css' })).statusCode).toBe(200);
    expect((await s.app.inject({ method: 'GET', url: '/admin/assets/..%2fplugin.ts' })).statusCode).toBe(404);
    const missing = await admin.get('/admin/api/nothing');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('BLH_ERR_ADMIN_NOT_FOUND');
  });
});

describe('overview', () => {
  it('counts records per minute by verdict, rejections by code, and shows the queue', async () => {
    await sendMix();
    now += 60_000;
    await s.send([voiceRecord('ok-3', now)]);
    const res = await admin.get('/admin/api/overview?window=1h');
    expect(res.statusCode).toBe(200);
    const o = res.json();
    expect(o.bucketMs).toBe(60_000);
    expect(o.buckets).toHaveLength(60);
    expect(o.to).toBe(Date.parse('2026-11-25T12:02:00Z'));
    const last = (values: number[]) => values.slice(-2);
    expect(last(o.records.accepted)).toEqual([2, 1]);
    expect(last(o.records.skipped)).toEqual([1, 0]);
    expect(last(o.records.rejected)).toEqual([2, 0]);
    expect(last(o.records.received)).toEqual([5, 1]);
    expect(Object.keys(o.rejectsByCode).sort()).toEqual(['SCHEMA_VIOLATION', 'UNKNOWN_CUSTOMER']);
    expect(o.totals).toMatchObject({ pending: 12, openDeadLetters: 0, records: { accepted: 3, skipped: 1, rejected: 2 } });
    expect(o.targets.map((t: { name: string }) => t.name)).toEqual(['default', 'lago', 'openmeter', 'stripe']);
    expect(o.targets[0]).toMatchObject({ pending: 3, breaker: null });
    expect(o.queue.at(-1)).toMatchObject({ pending: 12, openDeadLetters: 0 });
    expect(o.ruleset.version).toMatch(/^sha256:/);
    const day = (await admin.get('/admin/api/overview?window=24h')).json();
    expect(day.bucketMs).toBe(900_000);
    expect(day.buckets).toHaveLength(96);
    expect((await admin.get('/admin/api/overview?window=7d')).statusCode).toBe(400);
  });

  it('shows a target this process stands by for while another process delivers it (one SQLite file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-panel-standby-'));
    const filename = join(dir, 'db.sqlite');
    const { biller, url } = await startBiller();
    const other = createSqliteStore({ filename });
    const mine = createSqliteStore({ filename });
    // Real parts: this process's forwarder on its own connection, and another store holding the target.
    const forwarder = createForwarder({ store: mine, targets: { default: { preset: 'http', url: `${url}/v1/charges` } }, pollIntervalMs: 20, statsIntervalMs: 0 });
    const panel = await panelServer({ store: mine, clock: () => now, forwarder });
    const targetNow = async () => (await (await panel.as('viewer')).get('/admin/api/overview?window=1h')).json().targets.find((t: { name: string }) => t.name === 'default');
    try {
      const res = await panel.send([voiceRecord('held-1', now), voiceRecord('held-2', now)]);
      expect(res.statusCode).toBeLessThan(300);
      expect(await other.claim({ target: 'default', limit: 1, leaseMs: 60_000, worker: 'elsewhere', now: new Date() })).toHaveLength(1);
      await forwarder.start();
      await waitFor(() => forwarder.stats().targets.default!.standby !== undefined, 5000, 'the forwarder standing by');
      const held = await targetNow();
      expect(held).toMatchObject({ breaker: 'closed', pending: 2, leased: 1, standby: { holder: expect.stringMatching(/:\d+:[0-9a-f]{8}$/), until: expect.any(Number) } });
      expect(held.standby.until).toBeGreaterThan(Date.now());
      // The other store lets the target go: this process delivers what is not leased, and stands by no more.
      await other.releaseTarget!('default');
      await waitFor(() => forwarder.stats().targets.default!.counts.delivered === 1, 5000, 'the free row delivered here');
      expect(await targetNow()).toMatchObject({ breaker: 'closed', standby: null });
      expect(biller.received({ items: false }).endpoints.charges.distinct).toBe(1);
    } finally {
      await forwarder.stop();
      await panel.close();
      await other.close();
      await biller.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('raises the alerts: dead letters growing, rejections spiking, old undelivered records, a breaker open', async () => {
    let breaker = 'closed';
    await s.close();
    s = await panelServer({ clock: () => now, forwarder: { stats: () => ({ targets: { default: { breaker: { state: breaker } } } }) } });
    admin = await s.as('admin');
    expect((await admin.get('/admin/api/alerts')).json().alerts).toEqual([]);
    const rejects = Array.from({ length: 10 }, (_, i) => voiceRecord(`ghost-${i}`, now, { subject: 'nobody' }));
    await s.send([...rejects, voiceRecord('ok-1', now), voiceRecord('ok-2', now)]);
    await settle(['ok-1']);
    now += 11 * 60_000;
    breaker = 'open';
    const alerts = (await admin.get('/admin/api/alerts')).json().alerts as { id: string; target?: string; detail: string }[];
    expect(alerts.map((a) => a.id).sort()).toEqual(['breaker-open', 'dead-letters-growing', 'oldest-pending']);
    expect(alerts.find((a) => a.id === 'breaker-open')?.target).toBe('default');
    now -= 10 * 60_000;
    const early = (await admin.get('/admin/api/alerts')).json().alerts as { id: string; detail: string }[];
    expect(early.map((a) => a.id)).toContain('rejects-spiking');
    expect(early.find((a) => a.id === 'rejects-spiking')?.detail).toContain('10 of 12');
  });
});

describe('records', () => {
  it('searches by source, id, customer, verdict, code and time, newest first, rejections included', async () => {
    await sendMix();
    const all = ids(await admin.get('/admin/api/records'));
    // Same receive time: stored records first (newest first), then the rejection log.
    expect(all.slice(0, 3)).toEqual(['inbound', 'ok-2', 'ok-1']);
    expect(all.slice(3).sort()).toEqual(['bad', 'ghost']);
    expect(ids(await admin.get('/admin/api/records?verdict=rejected')).sort()).toEqual(['bad', 'ghost']);
    expect(ids(await admin.get('/admin/api/records?subject=umbrella'))).toEqual(['ok-2']);
    expect(ids(await admin.get('/admin/api/records?code=UNKNOWN_CUSTOMER'))).toEqual(['ghost']);
    expect(ids(await admin.get('/admin/api/records?code=INBOUND_NOT_BILLED'))).toEqual(['inbound']);
    expect(ids(await admin.get('/admin/api/records?id=ok-1&source=voice-platform'))).toEqual(['ok-1']);
    expect(ids(await admin.get(`/admin/api/records?from=${new Date(now + 1).toISOString()}`))).toEqual([]);
    const page = (await admin.get('/admin/api/records?limit=2')).json();
    expect(page.items).toHaveLength(2);
    const rest = (await admin.get(`/admin/api/records?limit=10&cursor=${page.nextCursor}`)).json();
    expect(rest.items).toHaveLength(3);
    expect((await admin.get('/admin/api/records?from=yesterday')).json().code).toBe('BLH_ERR_ADMIN_INPUT');
    expect((await admin.get('/admin/api/records?cursor=bm9wZQ')).statusCode).toBe(400);
  });

  it("tells one record's whole story: the record, its verdict, outputs per target and every attempt", async () => {
    await sendMix();
    await settle(['ok-2']);
    const story = (await admin.get('/admin/api/records/voice-platform/ok-1')).json();
    expect(story.record).toMatchObject({ source: 'voice-platform', id: 'ok-1', verdict: 'accepted', subject: 'acme', payload: { id: 'ok-1' } });
    expect(story.record.rulesetVersion).toBe(story.runningVersion);
    expect(Object.keys(story.record.targets).sort()).toEqual(['default', 'lago', 'openmeter', 'stripe']);
    expect(story.record.targets.default).toMatchObject({ status: 'delivered', receipt: { statusCode: 200, targetId: 't-ok-1' } });
    expect(story.record.targets.lago.body).toMatchObject({ external_subscription_id: 'sub_acme_001' });
    expect(story.record.deliveries).toMatchObject([{ target: 'default', outcome: 'delivered', statusCode: 200 }]);
    const dead = (await admin.get('/admin/api/records/voice-platform/ok-2')).json();
    expect(dead.record.targets.default).toMatchObject({ status: 'dead' });

    const rejected = (await admin.get('/admin/api/records/voice-platform/ghost')).json();
    expect(rejected.record).toBeNull();
    expect(rejected.rejections[0].errors[0]).toMatchObject({ code: 'UNKNOWN_CUSTOMER', rule: 'unknown-customer' });
    expect((await admin.get('/admin/api/records/voice-platform/never')).statusCode).toBe(404);
  });

  it('explains a stored decision again with the ruleset version that made it, as of when it was received', async () => {
    await sendMix();
    now += 40 * 86_400_000; // long after: as of today the record would be too old
    admin = await s.as('admin');
    const ok = (await admin.get('/admin/api/records/voice-platform/ok-1/explain')).json();
    expect(ok.explanation.result.verdict).toBe('accepted');
    expect(ok.now).toBe('2026-11-25T12:00:30.000Z');
    const story = (await admin.get('/admin/api/records/voice-platform/ghost')).json();
    const seq = story.rejections[0].seq;
    const ghost = (await admin.get(`/admin/api/records/voice-platform/ghost/explain?rejection=${seq}`)).json();
    expect(ghost.explanation.result.errors[0].code).toBe('UNKNOWN_CUSTOMER');
    expect(ghost.explanation.rules.find((r: { name: string }) => r.name === 'unknown-customer').fired).toBe(true);
  });
});

describe('dead letters', () => {
  it('lists with filters, shows one with its last answer, retries and discards, and audits each', async () => {
    await sendMix();
    await settle(['ok-1', 'ok-2']);
    const operator = await s.as('operator');
    const list = (await operator.get('/admin/api/dead-letters?target=default')).json();
    expect(list.items.map((d: { recordId: string }) => d.recordId).sort()).toEqual(['ok-1', 'ok-2']);
    expect((await operator.get('/admin/api/dead-letters?code=HTTP_500')).json().items).toEqual([]);
    const [first, second] = list.items as { id: string; recordId: string }[];
    const one = (await operator.get(`/admin/api/dead-letters/${first!.id}`)).json();
    expect(one.deadLetter).toMatchObject({ reason: 'HTTP 400: unknown meter', answer: { error: 'unknown meter' }, statusCode: 400 });
    expect(one.attempts).toMatchObject([{ outcome: 'dead', statusCode: 400 }]);

    const retried = (await operator.post('/admin/api/dead-letters/retry', { ids: [first!.id] })).json();
    expect(retried.resolved).toMatchObject([{ id: first!.id, status: 'retried', resolvedBy: 'operator' }]);
    const record = (await operator.get(`/admin/api/records/voice-platform/${first!.recordId}`)).json();
    expect(record.record.targets.default).toMatchObject({ status: 'pending', attempts: 0 });
    expect((await operator.post('/admin/api/dead-letters/discard', { ids: [second!.id, first!.id] })).json()).toMatchObject({
      resolved: [{ id: second!.id, status: 'discarded' }],
      failed: [{ id: first!.id, code: 'BLH_ERR_STORE_STATE' }],
    });
    expect((await operator.get('/admin/api/dead-letters')).json().items).toEqual([]);
    expect((await operator.get('/admin/api/dead-letters?status=discarded')).json().items).toHaveLength(1);
    const audit = (await operator.get('/admin/api/audit?actor=operator')).json().items.filter((e: { action: string }) => e.action.startsWith('dead-letter.'));
    expect(audit).toMatchObject([
      { action: 'dead-letter.discard', target: second!.id, before: { status: 'dead' }, after: { status: 'discarded', recordId: second!.recordId } },
      { action: 'dead-letter.retry', target: first!.id, before: { status: 'dead' }, after: { status: 'retried' } },
    ]);
    expect((await operator.post('/admin/api/dead-letters/retry', { ids: ['x'] })).statusCode).toBe(400);
  });

  it('replays the deliveries of a time range', async () => {
    await sendMix();
    await settle([]);
    const operator = await s.as('operator');
    const res = await operator.post('/admin/api/replay', { from: new Date(now - 1000).toISOString(), to: new Date(now + 1000).toISOString(), target: 'default' });
    expect(res.json()).toEqual({ requeued: 2 });
    expect((await operator.post('/admin/api/replay', { from: 'x', to: 'y' })).json().code).toBe('BLH_ERR_ADMIN_INPUT');
  });
});

describe('rules', () => {
  const manifestPath = 'rules/manifest.json';
  const readManifest = () => readFileSync(join(RULES_DIR, 'manifest.json'), 'utf8');

  async function filesOfRunning(c: Client): Promise<Record<string, string>> {
    return (await c.get('/admin/api/rules/files')).json().files;
  }

  it('shows the running version, its files and the history of activations', async () => {
    const rules = (await admin.get('/admin/api/rules')).json();
    expect(rules.active).toMatchObject({ name: 'default', version: expect.stringMatching(/^sha256:/) });
    expect(rules.active.files.map((f: { path: string }) => f.path)).toContain(manifestPath);
    expect(rules.history).toMatchObject([{ version: rules.active.version, running: true }]);
    expect(rules.canActivate).toBe(true);
    const files = await filesOfRunning(admin);
    expect(files[manifestPath]).toBe(readManifest());
    const mapping = Object.keys(files).find((p) => p.startsWith('mappings/'));
    expect(mapping).toBeDefined();
    expect(files[mapping!]).toBe(readFileSync(join(MAPPINGS_DIR, mapping!.slice('mappings/'.length)), 'utf8'));
  });

  it('runs a pasted record through the running ruleset, a stored one or a candidate, and shows the trace', async () => {
    const viewer = await s.as('viewer');
    const out = (await viewer.post('/admin/api/rules/playground', { record: voiceRecord('try', now, { subject: 'initech' }) })).json();
    expect(out.explanation.result).toMatchObject({ verdict: 'rejected', errors: [{ code: 'CUSTOMER_SUSPENDED' }] });
    expect(out.explanation.schema.valid).toBe(true);
    const notObject = (await viewer.post('/admin/api/rules/playground', { record: 42 })).json();
    expect(notObject.explanation.result.errors[0].code).toBe('NOT_AN_OBJECT');

    const files = await filesOfRunning(viewer);
    const customers = JSON.parse(files['rules/reference/customers.json']!);
    customers.rows.find((r: { id: string }) => r.id === 'initech').status = 'active';
    const candidate = { ...files, 'rules/reference/customers.json': JSON.stringify(customers, null, 2) };
    const withCandidate = (await viewer.post('/admin/api/rules/playground', { record: voiceRecord('try', now, { subject: 'initech' }), files: candidate })).json();
    expect(withCandidate.explanation.result.verdict).toBe('accepted');
    expect(withCandidate.version).not.toBe(out.version);
    expect(withCandidate.lint.errors).toBe(0);
    // Still nothing changed.
    expect((await viewer.get('/admin/api/rules')).json().active.version).toBe(out.version);
  });

  it('checks a candidate: lint findings, and the load error of a broken one', async () => {
    const files = await filesOfRunning(admin);
    const good = (await admin.post('/admin/api/rules/check', { files })).json();
    expect(good).toMatchObject({ ok: true, error: null, lint: { errors: 0 } });
    const broken = (await admin.post('/admin/api/rules/check', { files: { ...files, [manifestPath]: '{ "name": ' } })).json();
    expect(broken.ok).toBe(false);
    expect(broken.lint.problems[0]).toMatchObject({ file: manifestPath, severity: 'error', check: 'json-syntax' });
    expect((await admin.post('/admin/api/rules/check', { files: { '../etc/passwd': 'x' } })).statusCode).toBe(400);
  });

  it('activates a candidate (validated first), the ingest judges by it at once, and rolls back; both audited', async () => {
    const operator = await s.as('operator');
    const before = (await operator.get('/admin/api/rules')).json().active.version as string;
    const files = await filesOfRunning(operator);
    expect((await s.send([voiceRecord('sus-1', now, { subject: 'initech' })])).json().results[0].status).toBe('rejected');

    const broken = await operator.post('/admin/api/rules/activate', { files: { ...files, 'rules/rules/common.rules.json': '{"rules": [' } });
    expect(broken.statusCode).toBe(422);
    expect(broken.json()).toMatchObject({ code: 'BLH_ERR_ADMIN_RULESET', lint: { errors: expect.any(Number) } });
    expect((await operator.get('/admin/api/rules')).json().active.version).toBe(before);

    const customers = JSON.parse(files['rules/reference/customers.json']!);
    customers.rows.find((r: { id: string }) => r.id === 'initech').status = 'active';
    const activated = (await operator.post('/admin/api/rules/activate', { files: { ...files, 'rules/reference/customers.json': JSON.stringify(customers) } })).json();
    expect(activated).toMatchObject({ changed: true, previous: before, action: 'activate' });
    const after = activated.version as string;
    expect((await s.send([voiceRecord('sus-2', now, { subject: 'initech' })])).json().results[0].status).toBe('accepted');
    const rules = (await operator.get('/admin/api/rules')).json();
    expect(rules.active.version).toBe(after);
    expect(rules.history[0]).toMatchObject({ version: after, activatedBy: 'panel:operator', running: true });

    const rolled = (await operator.post('/admin/api/rules/activate', { version: before })).json();
    expect(rolled).toMatchObject({ changed: true, version: before, previous: after, action: 'rollback' });
    expect((await s.send([voiceRecord('sus-3', now, { subject: 'initech' })])).json().results[0].status).toBe('rejected');
    const audit = (await operator.get('/admin/api/audit?action=')).json().items.filter((e: { action: string }) => e.action.startsWith('ruleset.'));
    expect(audit).toMatchObject([
      { actor: 'operator', action: 'ruleset.rollback', target: before, before: { version: after }, after: { version: before, from: 'history' } },
      { actor: 'operator', action: 'ruleset.activate', target: after, before: { version: before }, after: { version: after, from: 'candidate' } },
    ]);
    expect((await operator.post('/admin/api/rules/activate', { version: 'sha256:0000000000000000' })).statusCode).toBe(404);
  });

  it('reloads the files on disk', async () => {
    const out = (await (await s.as('operator')).post('/admin/api/rules/reload')).json();
    expect(out).toMatchObject({ changed: false });
  });
});

describe('API keys', () => {
  it('creates a key shown once, which works for its sources, lists it without the secret, revokes it; audited', async () => {
    const res = await admin.post('/admin/api/keys', { name: 'voice prod', sources: ['voice-platform'] });
    expect(res.statusCode).toBe(200);
    const { key, info } = res.json();
    expect(key).toMatch(/^blh_[A-Za-z0-9_-]{10}\.[A-Za-z0-9_-]+$/);
    const post = (k: string, records: unknown[]) => s.app.inject({ method: 'POST', url: '/v1/records', headers: { 'content-type': 'application/json', 'x-api-key': k }, payload: JSON.stringify(records) });
    expect((await post(key, [voiceRecord('k-1', now)])).statusCode).toBe(202);
    expect((await post(key, [{ ...voiceRecord('k-2', now), source: 'sms-gateway' }])).statusCode).toBe(403);
    const list = (await admin.get('/admin/api/keys')).body;
    expect(list).toContain(info.prefix);
    expect(list).not.toContain(key.split('.')[1]);
    expect(list).not.toContain('sha256:');
    const revoked = (await admin.post(`/admin/api/keys/${info.id}/revoke`)).json();
    expect(revoked.revokedAt).not.toBeNull();
    expect((await post(key, [voiceRecord('k-3', now)])).statusCode).toBe(401);
    const audit = (await admin.get('/admin/api/audit')).json().items.filter((e: { action: string }) => e.action.startsWith('key.'));
    expect(audit).toMatchObject([
      { actor: 'admin', action: 'key.revoke', target: info.prefix, before: { revokedAt: null }, after: { revokedAt: expect.any(String) } },
      { actor: 'admin', action: 'key.create', target: info.prefix, after: { name: 'voice prod', sources: ['voice-platform'] } },
    ]);
    expect((await admin.post('/admin/api/keys', { name: 'x', sources: ['bad source!'] })).statusCode).toBe(400);
    expect((await admin.post('/admin/api/keys/999/revoke')).statusCode).toBe(404);
  });
});

describe('accounts', () => {
  it('creates an account with a generated password shown once, changes its role, resets and removes it; audited', async () => {
    const created = (await admin.post('/admin/api/accounts', { username: 'ana', role: 'operator' })).json();
    expect(created.account).toMatchObject({ username: 'ana', role: 'operator' });
    expect(created.password).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(JSON.stringify((await admin.get('/admin/api/accounts')).json())).not.toContain('scrypt');
    const ana = await s.as({ username: 'ana', password: created.password });
    expect((await ana.get('/admin/api/session')).json().user.role).toBe('operator');
    expect((await admin.post('/admin/api/accounts', { username: 'ana', role: 'viewer' })).json().code).toBe('BLH_ERR_STORE_EXISTS');
    expect((await admin.post('/admin/api/accounts', { username: 'bad name', role: 'viewer' })).json().code).toBe('BLH_ERR_ADMIN_INPUT');
    expect((await admin.post('/admin/api/accounts', { username: 'bob', role: 'root' })).json().code).toBe('BLH_ERR_ADMIN_INPUT');
    expect((await admin.post('/admin/api/accounts/ana/role', { role: 'viewer' })).json()).toMatchObject({ username: 'ana', role: 'viewer' });
    const reset = (await admin.post('/admin/api/accounts/ana/reset-password')).json();
    expect(reset.password).not.toBe(created.password);
    expect((await admin.del('/admin/api/accounts/ana')).statusCode).toBe(200);
    expect((await admin.del('/admin/api/accounts/ana')).statusCode).toBe(404);
    const audit = (await admin.get('/admin/api/audit?target=ana')).json().items;
    expect(audit.map((e: { action: string }) => e.action)).toEqual(['account.delete', 'account.password-reset', 'account.role', 'session.login', 'account.create']);
    expect(audit[2]).toMatchObject({ actor: 'admin', before: { role: 'operator' }, after: { role: 'viewer' } });
    expect(JSON.stringify(audit)).not.toContain(reset.password);
  });

  it('keeps an admin: the last one cannot be demoted or removed, and nobody removes themselves', async () => {
    expect((await admin.post('/admin/api/accounts/admin/role', { role: 'viewer' })).json().code).toBe('BLH_ERR_ADMIN_LAST_ADMIN');
    expect((await admin.del('/admin/api/accounts/admin')).json().code).toBe('BLH_ERR_ADMIN_LAST_ADMIN');
    expect((await admin.post('/admin/api/accounts/operator/role', { role: 'admin' })).statusCode).toBe(200);
    const operator = await s.as('operator');
    expect((await operator.del('/admin/api/accounts/operator')).json().code).toBe('BLH_ERR_ADMIN_LAST_ADMIN');
    expect((await operator.del('/admin/api/accounts/admin')).statusCode).toBe(200);
    expect((await s.store.listAccounts()).map((a) => a.username)).toEqual(['operator', 'viewer']);
    await expect(s.as({ username: 'admin', password: PASSWORD })).rejects.toThrow(/login of admin failed: 401/);
  });
});

describe('audit log', () => {
  it('is read-only: there is no route that changes or removes an entry', async () => {
    await admin.post('/admin/api/keys', { name: 'x', sources: ['a'] });
    for (const method of ['PUT', 'PATCH', 'DELETE', 'POST'] as const) {
      const res = await s.app.inject({ method, url: '/admin/api/audit', headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': 'application/json' }, payload: '{}' });
      expect(res.statusCode, method).toBe(404);
    }
    const entries = (await admin.get('/admin/api/audit?action=key.create')).json().items;
    expect(entries).toHaveLength(1);
  });
});
