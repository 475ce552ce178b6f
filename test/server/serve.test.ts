/** `bilhetagem serve` and `bilhetagem keys` as real processes: first start, keys, signals, config, logs. */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import { copyRuleset, ROOT } from '../support/ruleset.ts';
import { adminPassword, demoKey, liveVoice, runCli, startServe } from './process.ts';
import type { ServerProcess } from './process.ts';

const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let dbs = 0;
const freshDb = () => join(dir, `serve-${++dbs}`, 'bilhetagem.db');

const running: ServerProcess[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
  }
});

async function serve(args: string[], options: Parameters<typeof startServe>[1] = {}) {
  const p = await startServe(args, options);
  running.push(p);
  return p;
}

async function post(origin: string, key: string, body: unknown) {
  const res = await request(`${origin}/v1/records`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body) });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, any> };
}

describe('bilhetagem serve', () => {
  it('creates the database, an admin account and a demo key on the first start, prints them once on stderr, and never logs them', { timeout: 60_000 }, async () => {
    const db = freshDb();
    const first = await serve(['--db', db]);
    const key = demoKey(first.stderr());
    const password = adminPassword(first.stderr());
    const record = liveVoice('first-1');
    expect((await post(first.origin, key, record)).status).toBe(202);
    const reload = await request(`${first.origin}/admin/ruleset/reload`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` } });
    expect(reload.statusCode).toBe(200);
    await reload.body.dump();
    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });

    const logs = first.logs();
    expect(logs.map((l) => l.event)).toEqual(expect.arrayContaining(['ruleset:loaded', 'server:listening', 'server:draining', 'server:closed']));
    expect(first.stdout().split('\n').filter(Boolean).every((l) => l.startsWith('{'))).toBe(true);
    for (const secret of [key, key.split('.')[1], password]) expect(first.stdout()).not.toContain(secret);

    const second = await serve(['--db', db]);
    expect(second.stderr()).not.toContain('demo API key');
    expect((await post(second.origin, key, record)).body.status).toBe('duplicate');
  });

  it('keys create / list / revoke work on the database of a running server, and a revoked key stops at once', { timeout: 60_000 }, async () => {
    const db = freshDb();
    const server = await serve(['--db', db]);
    const created = await runCli(['keys', 'create', '--source', 'sms-gateway', '--name', 'sms prod', '--db', db, '--format', 'json']);
    expect(created.code).toBe(0);
    const { key, prefix, id } = JSON.parse(created.stdout);
    expect(key).toMatch(/^blh_[\w-]+\.[\w-]+$/);
    const sms = { ...liveVoice('s1', 'sms-gateway'), type: 'sms.sent', data: { segments: 1, to: '+14155550100', region: 'us-east' } };
    expect((await post(server.origin, key, sms)).status).toBe(202);
    expect((await post(server.origin, key, liveVoice('v1'))).status).toBe(403);

    const plain = await runCli(['keys', 'create', '--source', 'mobile-core', '--db', db]);
    expect(plain.stdout.trim()).toMatch(/^blh_[\w-]+\.[\w-]+$/);
    expect(plain.stderr).toContain('shown only this once');

    const list = await runCli(['keys', 'list', '--db', db]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(prefix);
    expect(list.stdout).toContain('sms prod');
    expect(list.stdout).not.toContain(key.split('.')[1]);

    const revoked = await runCli(['keys', 'revoke', prefix, '--db', db]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`revoked: ${prefix}`);
    const after = await post(server.origin, key, { ...sms, id: 's2' });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('BLH_ERR_UNAUTHORIZED');
    expect((await runCli(['keys', 'revoke', id, '--db', db])).stdout).toContain('already revoked');

    expect((await runCli(['keys', 'create', '--db', db])).code).toBe(2);
    expect((await runCli(['keys', 'list', '--db', join(dir, 'nope.db')])).stderr).toContain('BLH_ERR_STORE_OPEN');
  });

  it('SIGHUP reloads the ruleset; a bad one keeps the old running', { timeout: 60_000 }, async () => {
    const copy = copyRuleset();
    try {
      const server = await serve(['--db', freshDb(), '--rules', copy.rules, '--mappings', copy.mappings, '--no-watch']);
      const key = demoKey(server.stderr());
      const v1 = (await post(server.origin, key, liveVoice('h1'))).body.rulesetVersion;
      const customers = JSON.parse(copy.read('rules/reference/customers.json'));
      customers.rows.push({ ...customers.rows[0], id: 'newco' });
      copy.write('rules/reference/customers.json', customers);
      // --no-watch: nothing happens until the signal.
      await new Promise((r) => setTimeout(r, 500));
      expect((await post(server.origin, key, liveVoice('h2'))).body.rulesetVersion).toBe(v1);
      server.child.kill('SIGHUP');
      await until(() => server.logs().some((l) => l.event === 'ruleset:loaded' && l.trigger === 'signal'));
      const v2 = (await post(server.origin, key, { ...liveVoice('h3'), subject: 'newco' })).body;
      expect(v2.status).toBe('accepted');
      expect(v2.rulesetVersion).not.toBe(v1);

      copy.write('rules/manifest.json', '{ broken');
      server.child.kill('SIGHUP');
      await until(() => server.logs().some((l) => l.event === 'ruleset:rejected'));
      expect((await post(server.origin, key, liveVoice('h4'))).body.rulesetVersion).toBe(v2.rulesetVersion);
    } finally {
      copy.cleanup();
    }
  });

  it('SIGTERM drains: requests in flight are answered and committed, then the process exits 0', { timeout: 60_000 }, async () => {
    const db = freshDb();
    const server = await serve(['--db', db, '--rate-limit', '0']);
    const key = demoKey(server.stderr());
    const answers = Array.from({ length: 40 }, (_, i) => post(server.origin, key, Array.from({ length: 25 }, (_, j) => liveVoice(`t${i}-${j}`))).catch(() => undefined));
    await new Promise((r) => setTimeout(r, 30));
    server.child.kill('SIGTERM');
    const settled = await Promise.all(answers);
    expect(await server.exited).toEqual({ code: 0, signal: null });
    const store = createSqliteStore({ filename: db });
    try {
      let answered = 0;
      for (const [i, a] of settled.entries()) {
        if (a?.status !== 202) continue;
        answered += 1;
        for (let j = 0; j < 25; j++) expect(await store.getRecord('voice-platform', `t${i}-${j}`)).toBeDefined();
      }
      expect(answered).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });

  it('takes options from bilhetagem.config.json, under environment variables, under flags', { timeout: 60_000 }, async () => {
    const cwd = join(dir, 'configured');
    cpSync(join(ROOT, 'rules'), join(cwd, 'rules'), { recursive: true });
    cpSync(join(ROOT, 'mappings'), join(cwd, 'mappings'), { recursive: true });
    writeFileSync(join(cwd, 'bilhetagem.config.json'), JSON.stringify({ maxBatch: 2, db: 'state/x.db', rateLimit: 0 }));
    const server = await serve([], { cwd });
    const key = demoKey(server.stderr());
    expect((await post(server.origin, key, [liveVoice('c1'), liveVoice('c2'), liveVoice('c3')])).status).toBe(413);
    expect(server.logs().find((l) => l.event === 'server:listening')!.db).toBe(join(cwd, 'state/x.db'));
    server.child.kill('SIGTERM');
    await server.exited;

    const env = await serve([], { cwd, env: { BILHETAGEM_MAX_BATCH: '3' } });
    expect((await post(env.origin, key, [liveVoice('c1'), liveVoice('c2'), liveVoice('c3')])).status).toBe(202);
    env.child.kill('SIGTERM');
    await env.exited;

    const flag = await serve(['--max-batch', '1'], { cwd, env: { BILHETAGEM_MAX_BATCH: '3' } });
    expect((await post(flag.origin, key, [liveVoice('c4'), liveVoice('c5')])).status).toBe(413);
  });

  it('does not start on a bad ruleset: exit code 2 and the error on stderr', { timeout: 60_000 }, async () => {
    const copy = copyRuleset();
    try {
      copy.write('rules/manifest.json', '{ broken');
      const result = await runCli(['serve', '--port', '0', '--db', freshDb(), '--rules', copy.rules, '--mappings', copy.mappings]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('BLH_ERR_JSON_PARSE');
    } finally {
      copy.cleanup();
    }
  });
});

async function until(check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
