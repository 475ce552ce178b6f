import { describe, expect, it } from 'vitest';
import { buildServer } from '../../src/server/index.ts';
import { startGrpcServer, createGrpcClient } from '../../src/grpc/index.ts';
import { payloadHash } from '../../src/server/canonical-json.ts';
import { copyRuleset, MAPPINGS_DIR, RULES_DIR } from '../support/ruleset.ts';
import { grpcFixture, NOW, NOW_MS, shippedPipeline, sms, voice } from './helpers.ts';

describe('Submit', () => {
  it('stores accepted and skipped records with their outbox rows, and answers after the commit', async () => {
    const { client, store } = await grpcFixture();
    const pipeline = await shippedPipeline();
    const r = await client.submit([voice({ id: 'a' }), voice({ id: 'b' }, { direction: 'inbound' }), sms({ id: 'c' })]);
    expect(r.counts).toEqual({ accepted: 2, skipped: 1, duplicate: 0, conflict: 0, rejected: 0 });
    expect(r.results.map((x) => [x.index, x.status, x.source, x.id])).toEqual([
      [0, 'accepted', 'voice-platform', 'a'],
      [1, 'skipped', 'voice-platform', 'b'],
      [2, 'accepted', 'sms-gateway', 'c'],
    ]);
    expect(r.results[1].code).toBe('INBOUND_NOT_BILLED');

    // Readable the moment the answer is in: the record as the HTTP API would have received it.
    const a = await store.getRecord('voice-platform', 'a');
    expect(a).toMatchObject({ verdict: 'accepted', type: 'voice.call.completed', subject: 'acme', rulesetVersion: pipeline.version, receivedAt: new Date(NOW) });
    expect(a!.payload).toEqual(voice({ id: 'a' }));
    expect(a!.payloadHash).toBe(payloadHash(voice({ id: 'a' })));
    expect(Object.keys(a!.targets).sort()).toEqual([...pipeline.targets].sort());
    expect(Object.values(a!.targets).every((t) => t.status === 'pending')).toBe(true);
    const b = await store.getRecord('voice-platform', 'b');
    expect(b).toMatchObject({ verdict: 'skipped', code: 'INBOUND_NOT_BILLED', targets: {} });
  });

  it('answers duplicates and conflicts like HTTP: same content is a duplicate, other content a conflict', async () => {
    const { client, store } = await grpcFixture();
    const first = await client.submit([voice({ id: 'd' }), voice({ id: 'd' })]);
    expect(first.results.map((x) => x.status)).toEqual(['accepted', 'duplicate']);

    // The same record with its keys in another order is the same content.
    const reordered = Object.fromEntries(Object.entries(voice({ id: 'd' })).reverse());
    const again = await client.submit([reordered, voice({ id: 'd' }, { duration_s: 62 })]);
    expect(again.counts).toMatchObject({ duplicate: 1, conflict: 1 });
    expect(again.results[0]).toMatchObject({ status: 'duplicate', existing: { verdict: 'accepted', receivedAt: new Date(NOW).toISOString() } });
    expect(again.results[1]).toMatchObject({ status: 'conflict', id: 'd', existing: { verdict: 'accepted' } });
    expect((await store.getRecord('voice-platform', 'd'))!.payload).toEqual(voice({ id: 'd' }));
  });

  it('rejects with every reason, stores nothing for them, and logs the rejection under its identity', async () => {
    const { client, store } = await grpcFixture();
    const r = await client.submit([voice({ id: 'ok' }), voice({ id: 'bad', subject: 'initech' }, { duration_s: -1 })]);
    expect(r.counts).toMatchObject({ accepted: 1, rejected: 1 });
    expect(r.results[1].errors!.map((e) => e.code)).toEqual(['SCHEMA_VIOLATION']);
    expect(await store.getRecord('voice-platform', 'bad')).toBeUndefined();
    const { items } = await store.listRejections({ source: 'voice-platform', id: 'bad' });
    expect(items).toHaveLength(1);
    expect(items[0].errors[0]).toMatchObject({ code: 'SCHEMA_VIOLATION', path: '/data/duration_s' });
    expect(items[0].payload).toEqual(voice({ id: 'bad', subject: 'initech' }, { duration_s: -1 }));

    // A corrected record may follow with the same id.
    const fixed = await client.submit([voice({ id: 'bad' })]);
    expect(fixed.results[0].status).toBe('accepted');
  });

  it('counts records in the metrics it is given, as the HTTP server does', async () => {
    const seen: string[] = [];
    const reasons: string[] = [];
    const { client } = await grpcFixture({ metrics: { record: (v, c) => seen.push(`${v}:${c}`), reason: (c) => reasons.push(c) } });
    await client.submit([voice({ id: 'm1' }), voice({ id: 'm2', subject: 'nobody' }), voice({ id: 'm1' })]);
    expect(seen).toEqual(['accepted:', 'rejected:UNKNOWN_CUSTOMER', 'duplicate:']);
    expect(reasons).toEqual(['UNKNOWN_CUSTOMER']);
  });

  it('writes outbox rows through the outbox option, as the HTTP server does', async () => {
    const { client, store } = await grpcFixture({ outbox: (outputs) => ({ billing: outputs.default }) });
    await client.submit([voice({ id: 'o1' })]);
    expect(Object.keys((await store.getRecord('voice-platform', 'o1'))!.targets)).toEqual(['billing']);
  });
});

describe('beside the HTTP server, as serve runs them', () => {
  async function both() {
    const f = await grpcFixture(); // for its store, keys and cleanup; a second gRPC server follows the HTTP one's ruleset
    const app = await buildServer({ store: f.store, rules: RULES_DIR, mappings: MAPPINGS_DIR, clock: () => NOW_MS, docs: false, rateLimit: false });
    const grpc = await startGrpcServer({ port: 0, host: '127.0.0.1', store: f.store, pipeline: () => app.bilhetagem.ruleset?.pipeline, clock: () => NOW_MS });
    const client = await createGrpcClient({ address: grpc.address, apiKey: f.key });
    return {
      ...f,
      app,
      grpcClient: client,
      async close() {
        client.close();
        await grpc.stop();
        await app.close();
      },
    };
  }

  it('a record submitted over gRPC is readable over HTTP GET, judged by the same ruleset version', async () => {
    const t = await both();
    try {
      const r = await t.grpcClient.submit([voice({ id: 'via-grpc' })]);
      expect(r.rulesetVersion).toBe(t.app.bilhetagem.ruleset!.version);
      const got = await t.app.inject({ method: 'GET', url: '/v1/records/voice-platform/via-grpc', headers: { 'x-api-key': t.key } });
      expect(got.statusCode).toBe(200);
      expect(got.json()).toMatchObject({ status: 'accepted', rulesetVersion: r.rulesetVersion, record: voice({ id: 'via-grpc' }) });
    } finally {
      await t.close();
    }
  });

  it('a record sent over HTTP and again over gRPC is a duplicate, not a conflict', async () => {
    const t = await both();
    try {
      const http = await t.app.inject({ method: 'POST', url: '/v1/records', headers: { 'x-api-key': t.key, 'content-type': 'application/json' }, payload: JSON.stringify(sms({ id: 'both' })) });
      expect(http.statusCode).toBe(202);
      const r = await t.grpcClient.submit([sms({ id: 'both' }), Object.fromEntries(Object.entries(sms({ id: 'both' })).reverse())]);
      expect(r.results.map((x) => x.status)).toEqual(['duplicate', 'duplicate']);
      const conflict = await t.grpcClient.submit([{ ...sms({ id: 'both' }), subject: 'globex' }]);
      expect(conflict.results[0].status).toBe('conflict');
    } finally {
      await t.close();
    }
  });

  it('a rejection over gRPC is what HTTP GET shows for the record', async () => {
    const t = await both();
    try {
      await t.grpcClient.submit([voice({ id: 'nope', subject: 'nobody' })]);
      const got = await t.app.inject({ method: 'GET', url: '/v1/records/voice-platform/nope', headers: { 'x-api-key': t.key } });
      expect(got.json()).toMatchObject({ status: 'rejected', errors: [expect.objectContaining({ code: 'UNKNOWN_CUSTOMER' })] });
    } finally {
      await t.close();
    }
  });

  it("follows the HTTP server's ruleset reloads: the next call is judged by the new version", async () => {
    const f = await grpcFixture();
    const copy = copyRuleset();
    const app = await buildServer({ store: f.store, rules: copy.rules, mappings: copy.mappings, clock: () => NOW_MS, docs: false, rateLimit: false });
    const grpc = await startGrpcServer({ port: 0, host: '127.0.0.1', store: f.store, pipeline: () => app.bilhetagem.ruleset?.pipeline, clock: () => NOW_MS });
    const client = await createGrpcClient({ address: grpc.address, apiKey: f.key });
    try {
      const before = await client.validate([voice({ subject: 'newco' })]);
      expect(before.results[0].errors?.[0].code).toBe('UNKNOWN_CUSTOMER');
      const customers = JSON.parse(copy.read('rules/reference/customers.json'));
      customers.rows.push({ id: 'newco', name: 'NewCo', plan: 'business', status: 'active', lago_subscription_id: 'sub_newco', stripe_customer_id: 'cus_newco' });
      copy.write('rules/reference/customers.json', customers);
      const outcome = await app.bilhetagem.reloadRuleset('test');
      expect(outcome.changed).toBe(true);
      const after = await client.validate([voice({ subject: 'newco' })]);
      expect(after.rulesetVersion).toBe(outcome.version);
      expect(after.rulesetVersion).not.toBe(before.rulesetVersion);
      expect(after.results[0].status).toBe('accepted');
    } finally {
      client.close();
      await grpc.stop();
      await app.close();
      copy.cleanup();
    }
  });
});
