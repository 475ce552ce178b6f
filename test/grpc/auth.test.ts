import { describe, expect, it } from 'vitest';
import { issueApiKey } from '../../src/auth/index.ts';
import { failureOf, grpcFixture, rawCall, voice } from './helpers.ts';
import type { BilhetagemGrpcClient, SubmitStream } from '../../src/grpc/index.ts';

const calls = {
  Validate: (c: BilhetagemGrpcClient) => c.validate([voice()]),
  Transform: (c: BilhetagemGrpcClient) => c.transform([voice()]),
  Submit: (c: BilhetagemGrpcClient) => c.submit([voice()]),
  SubmitStream: async (c: BilhetagemGrpcClient) => {
    const s = c.submitStream();
    s.send(voice());
    s.end();
    for await (const _ of s.answers());
  },
};

async function drain(stream: SubmitStream) {
  const answers: string[] = [];
  const error = await failureOf(
    (async () => {
      for await (const a of stream.answers()) answers.push(a.result.id!);
    })(),
  );
  return { answers, error };
}

describe('authentication', () => {
  for (const [name, call] of Object.entries(calls)) {
    it(`${name} without an API key is UNAUTHENTICATED and stores nothing`, async () => {
      const { connect, store } = await grpcFixture();
      const e = await failureOf(call(await connect()));
      expect(e.grpcStatusName).toBe('UNAUTHENTICATED');
      expect(e.code).toBe('BLH_ERR_UNAUTHORIZED');
      expect(e.message).toContain('x-api-key');
      expect(await store.getRecord('voice-platform', 'call-1')).toBeUndefined();
    });
  }

  it('refuses a malformed key and an unknown key with UNAUTHENTICATED', async () => {
    const { connect, key } = await grpcFixture();
    const malformed = await failureOf((await connect('not-a-key')).validate([voice()]));
    expect(malformed).toMatchObject({ grpcStatusName: 'UNAUTHENTICATED', code: 'BLH_ERR_UNAUTHORIZED' });
    expect(malformed.message).toContain('not valid');
    const unknown = await failureOf((await connect(`${key.slice(0, key.indexOf('.'))}.${'A'.repeat(43)}`)).validate([voice()]));
    expect(unknown).toMatchObject({ grpcStatusName: 'UNAUTHENTICATED', message: 'the API key is unknown or revoked' });
  });

  it('takes the key as "authorization: Bearer <key>" too', async () => {
    const { connect, key } = await grpcFixture();
    const r = await (await connect(undefined, { authorization: `Bearer ${key}` })).validate([voice()]);
    expect(r.results[0].status).toBe('accepted');
  });

  it('refuses a revoked key at its next call', async () => {
    const { client, store, keyId } = await grpcFixture();
    expect((await client.submit([voice({ id: 'r1' })])).results[0].status).toBe('accepted');
    await store.revokeApiKey(keyId);
    const e = await failureOf(client.submit([voice({ id: 'r2' })]));
    expect(e).toMatchObject({ grpcStatusName: 'UNAUTHENTICATED', code: 'BLH_ERR_UNAUTHORIZED' });
    expect(await store.getRecord('voice-platform', 'r2')).toBeUndefined();
  });

  it('stops a stream whose key is revoked meanwhile, at the next key check', async () => {
    const { client, store, keyId } = await grpcFixture({ keyRecheckMs: 1, clock: (() => { let t = Date.parse('2026-11-25T12:00:00Z'); return () => (t += 5); })() });
    const stream = client.submitStream();
    const answers: string[] = [];
    const iterator = stream.answers();
    stream.send(voice({ id: 'live-1' }));
    const first = await iterator.next();
    answers.push(first.value!.result.id!);
    await store.revokeApiKey(keyId);
    stream.send(voice({ id: 'live-2' }));
    const error = await failureOf(iterator.next());
    expect(answers).toEqual(['live-1']);
    expect(error).toMatchObject({ grpcStatusName: 'UNAUTHENTICATED', code: 'BLH_ERR_UNAUTHORIZED' });
    expect(await store.getRecord('voice-platform', 'live-2')).toBeUndefined();
  });

  it('never writes a key to the log; the log names the caller by its prefix', async () => {
    const { client, connect, key, logs } = await grpcFixture();
    await client.submit([voice()]);
    const prefix = key.slice(0, key.indexOf('.'));
    const wrongSecret = 'B'.repeat(43);
    await failureOf((await connect(`${prefix}.${wrongSecret}`)).validate([voice()]));
    const calls = logs.lines.filter((l) => l.obj.event === 'grpc:call');
    expect(calls[0].obj).toMatchObject({ method: '/bilhetagem.v1.IngestService/Submit', status: 'OK', records: 1, caller: prefix });
    expect(calls[1].obj).toMatchObject({ method: '/bilhetagem.v1.ValidationService/Validate', status: 'UNAUTHENTICATED', code: 'BLH_ERR_UNAUTHORIZED' });
    expect(logs.text()).not.toContain(key.slice(key.indexOf('.') + 1));
    expect(logs.text()).not.toContain(wrongSecret);
  });

  it('checks the key before anything else: an unauthenticated caller learns nothing about its message', async () => {
    const { server } = await grpcFixture();
    const { error } = await rawCall(server.address, '/bilhetagem.v1.IngestService/Submit', Buffer.from('definitely not protobuf'));
    expect(error?.code).toBe(16);
  });
});

describe('source scopes', () => {
  it('refuses a whole batch naming a source the key may not send, with PERMISSION_DENIED, nothing judged or stored', async () => {
    const { client, store } = await grpcFixture();
    const e = await failureOf(client.submit([voice({ id: 'ok' }), voice({ id: 'x', source: 'mobile-core' }), voice({ id: 'y', source: 'storage-svc' })]));
    expect(e.grpcStatusName).toBe('PERMISSION_DENIED');
    expect(e.code).toBe('BLH_ERR_FORBIDDEN');
    expect(e.message).toBe('this API key may not send records for "mobile-core", "storage-svc"');
    expect(e.details).toEqual({ sources: ['mobile-core', 'storage-svc'] });
    expect(await store.getRecord('voice-platform', 'ok')).toBeUndefined();
    expect((await store.listRejections({})).items).toEqual([]);
  });

  it('applies to Validate and Transform too', async () => {
    const { connect, key } = await grpcFixture();
    const c = await connect(key);
    for (const call of [c.validate([voice({ source: 'mobile-core' })]), c.transform([voice({ source: 'mobile-core' })])]) {
      expect(await failureOf(call)).toMatchObject({ grpcStatusName: 'PERMISSION_DENIED', code: 'BLH_ERR_FORBIDDEN' });
    }
  });

  it('lets another product key send only its own source', async () => {
    const { connect, otherKey } = await grpcFixture();
    const c = await connect(otherKey);
    expect(await failureOf(c.submit([voice()]))).toMatchObject({ grpcStatusName: 'PERMISSION_DENIED' });
    const stream = c.submitStream();
    stream.send(voice());
    stream.end();
    const { answers, error } = await drain(stream);
    expect(answers).toEqual([]);
    expect(error).toMatchObject({ grpcStatusName: 'PERMISSION_DENIED', details: { sources: ['voice-platform'] } });
  });

  it('lets a "*" key send every source', async () => {
    const { connect, store } = await grpcFixture();
    const { key } = await issueApiKey(store, { name: 'all', sources: ['*'] });
    const r = await (await connect(key)).submit([voice({ id: 'star' })]);
    expect(r.results[0].status).toBe('accepted');
  });
});

describe('rate limit', () => {
  it('answers RESOURCE_EXHAUSTED with the wait once a key has used its burst', async () => {
    const { client } = await grpcFixture({ rateLimit: { requestsPerSecond: 1, burst: 2 } });
    await client.validate([voice()]);
    await client.validate([voice()]);
    const e = await failureOf(client.validate([voice()]));
    expect(e).toMatchObject({ grpcStatusName: 'RESOURCE_EXHAUSTED', code: 'BLH_ERR_RATE_LIMITED', details: { retryAfterSeconds: 1 } });
  });
});
