import { describe, expect, it } from 'vitest';
import { testServer, voice, sms, NOW_MS } from './helpers.ts';

describe('POST /v1/records, one record', () => {
  it('accepts a valid record with 202 after storing it with its outbox rows, ruleset version and receive time', async () => {
    const s = await testServer();
    const res = await s.post(voice());
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toEqual({ status: 'accepted', source: 'voice-platform', id: 'call-1', rulesetVersion: expect.stringMatching(/^sha256:/), receivedAt: new Date(NOW_MS).toISOString() });
    const stored = await s.store.getRecord('voice-platform', 'call-1');
    expect(stored).toMatchObject({ verdict: 'accepted', rulesetVersion: body.rulesetVersion, receivedAt: new Date(NOW_MS), payload: voice() });
    expect(Object.keys(stored!.targets).sort()).toEqual(['default', 'lago', 'openmeter', 'stripe']);
    expect(stored!.targets.default).toMatchObject({ status: 'pending', body: { idempotency_key: 'voice-platform:call-1' } });
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
  });

  it('answers a skipped record 202 with the rule\'s code, stored without outbox rows', async () => {
    const s = await testServer();
    const res = await s.post(voice({}, { direction: 'inbound' }));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ status: 'skipped', code: 'INBOUND_NOT_BILLED', message: expect.any(String) });
    expect(await s.store.getRecord('voice-platform', 'call-1')).toMatchObject({ verdict: 'skipped', code: 'INBOUND_NOT_BILLED', targets: {} });
  });

  it('answers the same record again 200 duplicate, even with its keys in another order', async () => {
    const s = await testServer();
    expect((await s.post(voice())).statusCode).toBe(202);
    const reordered = Object.fromEntries(Object.entries(voice()).reverse());
    const res = await s.post(reordered);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'duplicate', existing: { verdict: 'accepted', receivedAt: new Date(NOW_MS).toISOString() } });
  });

  it('answers 409 BLH_ERR_RECORD_CONFLICT for the same (source, id) with another payload, and keeps the first', async () => {
    const s = await testServer();
    await s.post(voice());
    const res = await s.post(voice({}, { duration_s: 999 }));
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'BLH_ERR_RECORD_CONFLICT', status: 'conflict', source: 'voice-platform', id: 'call-1', message: expect.stringContaining('other content') });
    expect((await s.store.getRecord('voice-platform', 'call-1'))!.payload).toEqual(voice());
  });

  it('answers a rejected record 422 with every reason, logs the rejection and stores nothing', async () => {
    const s = await testServer();
    const res = await s.post(voice({ time: 'yesterday', subject: undefined }));
    expect(res.statusCode).toBe(422);
    const body = res.json();
    expect(body).toMatchObject({ code: 'BLH_ERR_RECORD_REJECTED', status: 'rejected', source: 'voice-platform', id: 'call-1' });
    expect(body.errors.map((e: { code: string; path: string }) => `${e.code} ${e.path}`).sort()).toEqual(['SCHEMA_VIOLATION /subject', 'SCHEMA_VIOLATION /time']);
    expect(await s.store.getRecord('voice-platform', 'call-1')).toBeUndefined();
    const { items } = await s.store.listRejections({ source: 'voice-platform' });
    expect(items).toMatchObject([{ id: 'call-1', rulesetVersion: body.rulesetVersion, errors: body.errors }]);
  });

  it('gives a rule\'s rejection code (not only schema codes)', async () => {
    const s = await testServer();
    const res = await s.post(voice({ subject: 'nobody' }));
    expect(res.statusCode).toBe(422);
    expect(res.json().errors.map((e: { code: string }) => e.code)).toContain('UNKNOWN_CUSTOMER');
  });

  it('takes application/cloudevents+json, with a charset too', async () => {
    const s = await testServer();
    expect((await s.post(voice(), { contentType: 'application/cloudevents+json; charset=utf-8' })).statusCode).toBe(202);
  });

  it('a rejected record may be corrected and sent again under the same id', async () => {
    const s = await testServer();
    expect((await s.post(voice({ subject: 'nobody' }))).statusCode).toBe(422);
    expect((await s.post(voice())).statusCode).toBe(202);
  });
});

describe('POST /v1/records, batches', () => {
  it('answers each record of an array in order, keeps the valid ones, and says 202 when any was stored', async () => {
    const s = await testServer();
    await s.post(voice({ id: 'old' }));
    const res = await s.post([voice({ id: 'a' }), voice({ id: 'b', time: 'x' }), voice({ id: 'c' }, { direction: 'inbound' }), voice({ id: 'old' }), voice({ id: 'old' }, { duration_s: 5 }), sms()]);
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body.counts).toEqual({ accepted: 2, skipped: 1, duplicate: 1, conflict: 1, rejected: 1 });
    expect(body.results.map((r: { index: number; status: string; id: string }) => [r.index, r.status, r.id])).toEqual([
      [0, 'accepted', 'a'],
      [1, 'rejected', 'b'],
      [2, 'skipped', 'c'],
      [3, 'duplicate', 'old'],
      [4, 'conflict', 'old'],
      [5, 'accepted', 'sms-1'],
    ]);
    expect(body.results[1].errors[0]).toMatchObject({ code: 'SCHEMA_VIOLATION', path: '/time' });
    expect(await s.store.getRecord('voice-platform', 'a')).toBeDefined();
    expect(await s.store.getRecord('sms-gateway', 'sms-1')).toBeDefined();
    expect(await s.store.getRecord('voice-platform', 'b')).toBeUndefined();
  });

  it('answers 200 when nothing of the batch was stored', async () => {
    const s = await testServer();
    const res = await s.post([voice({ time: 'x' })]);
    expect(res.statusCode).toBe(200);
    expect(res.json().counts).toMatchObject({ rejected: 1 });
  });

  it('takes application/cloudevents-batch+json, and refuses a non-array as one', async () => {
    const s = await testServer();
    const ok = await s.post([voice()], { contentType: 'application/cloudevents-batch+json' });
    expect(ok.statusCode).toBe(202);
    const bad = await s.post(voice({ id: 'z' }), { contentType: 'application/cloudevents-batch+json' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('BLH_ERR_REQUEST_INVALID');
  });

  it('takes NDJSON: a malformed line is one MALFORMED rejection with its line number, the others go on', async () => {
    const s = await testServer();
    const body = [JSON.stringify(voice({ id: 'n1' })), '', '{"id": "broken', JSON.stringify(voice({ id: 'n2' })), '{"__proto__": {"x": 1}}', ''].join('\r\n');
    const res = await s.post(body, { contentType: 'application/x-ndjson' });
    expect(res.statusCode).toBe(202);
    const { results, counts } = res.json();
    expect(counts).toMatchObject({ accepted: 2, rejected: 2 });
    expect(results.map((r: { line: number; status: string }) => [r.line, r.status])).toEqual([
      [1, 'accepted'],
      [3, 'rejected'],
      [4, 'accepted'],
      [5, 'rejected'],
    ]);
    expect(results[1].errors).toEqual([{ code: 'MALFORMED', message: expect.stringMatching(/^line 3, column \d+: not valid JSON/) }]);
    expect(results[3].errors[0]).toMatchObject({ code: 'MALFORMED', message: expect.stringContaining('__proto__') });
  });

  it('refuses a batch larger than maxBatch with 413 BLH_ERR_BATCH_TOO_LARGE, storing nothing', async () => {
    const s = await testServer({ maxBatch: 3 });
    const res = await s.post([1, 2, 3, 4].map((i) => voice({ id: `b${i}` })));
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ code: 'BLH_ERR_BATCH_TOO_LARGE', count: 4, maxBatch: 3 });
    expect(await s.store.getRecord('voice-platform', 'b1')).toBeUndefined();
    const nd = await s.post([1, 2, 3, 4].map((i) => JSON.stringify(voice({ id: `b${i}` }))).join('\n'), { contentType: 'application/x-ndjson' });
    expect(nd.statusCode).toBe(413);
  });

  it('judges a record that appears twice in one batch once: the second is a duplicate', async () => {
    const s = await testServer();
    const res = await s.post([voice(), voice()]);
    expect(res.json().results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'duplicate']);
  });
});

describe('POST /v1/records/validate', () => {
  it('gives the same verdicts, with the mapped bodies, and stores nothing', async () => {
    const s = await testServer();
    const one = await s.post(voice(), { url: '/v1/records/validate' });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ status: 'accepted', outputs: { default: { idempotency_key: 'voice-platform:call-1' } } });
    const rejected = await s.post(voice({ time: 'x' }), { url: '/v1/records/validate' });
    expect(rejected.statusCode).toBe(200);
    expect(rejected.json()).toMatchObject({ status: 'rejected', errors: [{ code: 'SCHEMA_VIOLATION' }] });
    const batch = await s.post([voice({ id: 'v1' }), voice({ id: 'v2' }, { direction: 'inbound' })], { url: '/v1/records/validate' });
    expect(batch.statusCode).toBe(200);
    expect(batch.json().results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'skipped']);
    expect(await s.store.getRecord('voice-platform', 'call-1')).toBeUndefined();
    expect((await s.store.listRejections()).items).toEqual([]);
  });
});

describe('GET /v1/records/{source}/{id}', () => {
  it('answers status, verdict, ruleset version, receive time, targets and deliveries', async () => {
    const s = await testServer();
    const posted = (await s.post(voice())).json();
    const res = await s.get('/v1/records/voice-platform/call-1');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      source: 'voice-platform',
      id: 'call-1',
      status: 'accepted',
      verdict: 'accepted',
      rulesetVersion: posted.rulesetVersion,
      receivedAt: posted.receivedAt,
      record: voice(),
      targets: { default: { status: 'pending', attempts: 0 } },
      deliveries: [],
    });
  });

  it('shows deliveries once the forwarder has made them', async () => {
    const s = await testServer();
    await s.post(voice());
    const [row] = await s.store.claim({ target: 'lago', limit: 1, leaseMs: 1000, worker: 'w', now: new Date(NOW_MS) });
    await s.store.ack(row, { at: new Date(NOW_MS + 50), statusCode: 200, targetId: 'evt-9', latencyMs: 12 });
    const body = (await s.get('/v1/records/voice-platform/call-1')).json();
    expect(body.targets.lago).toMatchObject({ status: 'delivered', receipt: { statusCode: 200, targetId: 'evt-9' } });
    expect(body.deliveries).toEqual([expect.objectContaining({ target: 'lago', outcome: 'delivered', statusCode: 200, targetId: 'evt-9' })]);
  });

  it('answers a rejected record with its reasons', async () => {
    const s = await testServer();
    await s.post(voice({ subject: 'nobody' }));
    const res = await s.get('/v1/records/voice-platform/call-1');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'rejected', errors: [expect.objectContaining({ code: 'UNKNOWN_CUSTOMER' })] });
  });

  it('answers 404 BLH_ERR_RECORD_NOT_FOUND for a record never received', async () => {
    const s = await testServer();
    const res = await s.get('/v1/records/voice-platform/nope');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'BLH_ERR_RECORD_NOT_FOUND', source: 'voice-platform', id: 'nope' });
  });

  it('finds sources and ids that need URL-encoding', async () => {
    const s = await testServer();
    const { key } = await import('../../src/auth/index.ts').then((m) => m.issueApiKey(s.store, { name: 'slashes', sources: ['/telecom/voice'] }));
    const res = await s.post([voice({ source: '/telecom/voice', id: 'a/b ü' })], { key });
    expect(res.json().results[0].status).toBe('accepted');
    const got = await s.get(`/v1/records/${encodeURIComponent('/telecom/voice')}/${encodeURIComponent('a/b ü')}`, key);
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({ source: '/telecom/voice', id: 'a/b ü' });
  });
});

describe('outbox rows', () => {
  it('go one per mapping folder by default, or as the outbox option names them (one per configured target)', async () => {
    const s = await testServer({ pipeline: { targets: ['default', 'lago'] }, outbox: (outputs) => ({ billing: outputs.default, 'lago-eu': outputs.lago }) });
    await s.post(voice());
    const stored = await s.store.getRecord('voice-platform', 'call-1');
    expect(Object.keys(stored!.targets).sort()).toEqual(['billing', 'lago-eu']);
    expect(stored!.targets.billing.body).toMatchObject({ idempotency_key: 'voice-platform:call-1' });
  });
});
