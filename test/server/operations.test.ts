import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Client, request } from 'undici';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import { createMemoryStore } from '../../src/adapters/memory/index.ts';
import { buildServer } from '../../src/server/index.ts';
import { MAPPINGS_DIR, RULES_DIR } from '../support/ruleset.ts';
import { testServer, voice, NOW_MS } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-server-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('health, readiness, metrics', () => {
  it('/healthz answers while the process runs', async () => {
    const s = await testServer();
    const res = await s.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz answers 200 with the ruleset version, and 503 BLH_ERR_NOT_READY once the database is gone', async () => {
    const s = await testServer();
    const ok = await s.app.inject({ method: 'GET', url: '/readyz' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'ready', rulesetVersion: s.app.bilhetagem.ruleset!.version });
    await s.store.close();
    const gone = await s.app.inject({ method: 'GET', url: '/readyz' });
    expect(gone.statusCode).toBe(503);
    expect(gone.headers['retry-after']).toBe('1');
    expect(gone.json()).toMatchObject({ code: 'BLH_ERR_NOT_READY', database: false, ruleset: true });
    // A write to a closed store is a 503 with a code too, never a bare 500.
    const post = await s.post(voice());
    expect(post.statusCode).toBe(503);
    expect(post.json().code).toBe('BLH_ERR_STORE_CLOSED');
  });

  it('/metrics counts records by verdict and code, request latency, the queue depth and the ruleset version', async () => {
    const s = await testServer();
    await s.post([voice({ id: 'a' }), voice({ id: 'b', subject: 'nobody' }), voice({ id: 'c' }, { direction: 'inbound' })]);
    await s.post(voice({ id: 'a' }));
    const res = await s.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain; version=0.0.4');
    const m = res.body;
    expect(m).toContain('bilhetagem_records_total{verdict="accepted",code=""} 1');
    expect(m).toContain('bilhetagem_records_total{verdict="rejected",code="UNKNOWN_CUSTOMER"} 1');
    expect(m).toContain('bilhetagem_records_total{verdict="skipped",code="INBOUND_NOT_BILLED"} 1');
    expect(m).toContain('bilhetagem_records_total{verdict="duplicate",code=""} 1');
    expect(m).toContain('bilhetagem_rejection_reasons_total{code="UNKNOWN_CUSTOMER"} 1');
    expect(m).toMatch(/bilhetagem_http_request_duration_seconds_bucket\{method="POST",route="\/v1\/records",status_code="202",le="\+Inf"\} 1/);
    expect(m).toContain('bilhetagem_http_request_duration_seconds_count{method="POST",route="/v1/records",status_code="200"} 1');
    expect(m).toContain('bilhetagem_outbox_pending{target="default"} 1');
    expect(m).toContain(`bilhetagem_ruleset_info{version="${s.app.bilhetagem.ruleset!.version}",name="default"} 1`);
    // Every line is a comment or "name{labels} value".
    for (const line of m.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|[a-z_]+(\{[^}]*\})? -?[0-9.e+-]+)$/);
  });
});

describe('OpenAPI', () => {
  it('documents every route with its schemas at /openapi.json, and serves Swagger UI at /docs', async () => {
    const s = await testServer({ docs: true });
    const doc = (await s.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual(
      ['/admin/ruleset', '/admin/ruleset/reload', '/healthz', '/metrics', '/readyz', '/v1/records', '/v1/records/validate', '/v1/records/{source}/{id}'].sort(),
    );
    const post = doc.paths['/v1/records'].post;
    expect(Object.keys(post.requestBody.content).sort()).toEqual(['application/cloudevents+json', 'application/cloudevents-batch+json', 'application/json', 'application/x-ndjson']);
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['200', '202', '400', '401', '403', '409', '413', '415', '422', '429', '503']));
    expect(post.security).toEqual([{ apiKey: [] }, { bearer: [] }]);
    expect(doc.components.schemas.Error).toMatchObject({ required: ['code', 'message'] });
    const ui = await s.app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger');
  });
});

describe('lifecycle', () => {
  it('starts the forwarder when ready and stops it on close, showing its stats in /readyz', async () => {
    const calls: string[] = [];
    const forwarder = { start: () => void calls.push('start'), stop: async () => void calls.push('stop'), stats: () => ({ delivered: 7 }) };
    const store = createMemoryStore();
    const app = await buildServer({ store, rules: RULES_DIR, mappings: MAPPINGS_DIR, forwarder });
    expect(calls).toEqual([]);
    await app.ready();
    expect(calls).toEqual(['start']);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json().forwarder).toEqual({ delivered: 7 });
    await app.close();
    expect(calls).toEqual(['start', 'stop']);
    await store.close();
  });

  it('finishes in-flight requests on close, their records committed, and takes no new connections', async () => {
    const filename = join(dir, 'drain.db');
    const store = createSqliteStore({ filename });
    // Hold every ingest until the server has started closing, so the requests are surely in flight.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered = 0;
    const slow = Object.assign(Object.create(store), {
      ingest: async (items: Parameters<typeof store.ingest>[0]) => {
        entered += 1;
        await gate;
        return store.ingest(items);
      },
    }) as typeof store;
    const s = await testServer({ store: slow, rateLimit: false }, { shared: true });
    const origin = await s.app.listen({ port: 0, host: '127.0.0.1' });
    const inFlight = Array.from({ length: 20 }, (_, i) =>
      request(`${origin}/v1/records`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': s.key }, body: JSON.stringify(voice({ id: `d${i}` })) }).then(async (r) => ({ status: r.statusCode, body: await r.body.json() })),
    );
    while (entered < 20) await new Promise((r) => setTimeout(r, 10));
    const closing = s.app.close();
    await new Promise((r) => setTimeout(r, 20));
    // Closing: no new connections, while the ones in flight wait for their commit.
    const probe = new Client(origin);
    await expect(probe.request({ path: '/healthz', method: 'GET' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await probe.close();
    release();
    const answers = await Promise.all(inFlight);
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(202));
    await closing;
    await store.close();
    const reopened = createSqliteStore({ filename });
    for (let i = 0; i < 20; i++) expect(await reopened.getRecord('voice-platform', `d${i}`)).toBeDefined();
    await reopened.close();
  });

  it('rejects unknown options by name', async () => {
    await expect(buildServer({ store: createMemoryStore(), colour: 'blue' } as never)).rejects.toMatchObject({ code: 'BLH_ERR_OPTIONS', message: expect.stringContaining('"colour"') });
    await expect(buildServer({} as never)).rejects.toMatchObject({ code: 'BLH_ERR_OPTIONS', message: expect.stringContaining('"store"') });
  });
});

describe('group commit through the server', () => {
  it('commits the records of concurrent requests together and answers each after its commit', async () => {
    const store = createSqliteStore({ filename: join(dir, 'group.db') });
    const s = await testServer({ store, rateLimit: false });
    const before = store.writeStats();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => s.post(voice({ id: `g${i}` }))));
    expect(answers.every((r) => r.statusCode === 202)).toBe(true);
    const after = store.writeStats();
    expect(after.jobs - before.jobs).toBeGreaterThanOrEqual(50);
    expect(after.transactions - before.transactions).toBeLessThan(25);
    expect(after.largestBatch).toBeGreaterThan(1);
    expect((await store.getRecord('voice-platform', 'g49'))!.receivedAt).toEqual(new Date(NOW_MS));
  });
});

describe('extend', () => {
  it('mounts more routes inside the server: same error vocabulary, JSON bodies with the same checks, admin auth at hand', async () => {
    const { issueApiKey } = await import('../../src/auth/index.ts');
    const s = await testServer({
      extend: (app, { authorizeAdmin }) => {
        app.post('/admin/echo', async (request) => {
          const who = await authorizeAdmin(request);
          return { who: who.name, body: request.body ?? null };
        });
      },
    });
    const { key: admin } = await issueApiKey(s.store, { name: 'ops', sources: ['@admin'] });
    const echo = (headers: Record<string, string>, payload?: string) => s.app.inject({ method: 'POST', url: '/admin/echo', headers, ...(payload === undefined ? {} : { payload }) });
    const ok = await echo({ 'x-api-key': admin, 'content-type': 'application/json' }, '{"ids": ["1"]}');
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ who: 'ops', body: { ids: ['1'] } });
    expect((await echo({ 'x-api-key': admin })).json()).toEqual({ who: 'ops', body: null });
    expect((await echo({ 'x-api-key': s.key })).json().code).toBe('BLH_ERR_FORBIDDEN');
    expect((await echo({ 'x-api-key': admin, 'content-type': 'application/json' }, '{"__proto__": {}}')).json().code).toBe('BLH_ERR_FORBIDDEN_KEY');
  });
});
