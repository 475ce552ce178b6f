import { describe, expect, it } from 'vitest';
import type * as GrpcJs from '@grpc/grpc-js';
import { failureOf, grpcFixture, rawCall, voice } from './helpers.ts';
import type { BilhetagemGrpcClient, UsageRecordMessage } from '../../src/grpc/index.ts';

/** A Submit with messages of our own (fields a CloudEvents object cannot express). */
function submitRaw(client: BilhetagemGrpcClient, records: Partial<UsageRecordMessage>[], method: 'Submit' | 'Validate' = 'Submit') {
  const stub = (method === 'Submit' ? client.raw.ingest : client.raw.validation) as unknown as Record<string, (req: unknown, md: GrpcJs.Metadata, cb: (e: GrpcJs.ServiceError | null, r: unknown) => void) => void>;
  return new Promise<unknown>((resolve, reject) => stub[method].call(stub, { records }, client.metadata(), (e, r) => (e ? reject(e) : resolve(r))));
}

const envelope = { specversion: '1.0', id: 'm-1', source: 'voice-platform', type: 'voice.call.completed', time: '2026-11-25T11:00:00Z', subject: 'acme' };

async function statusOf(promise: Promise<unknown>) {
  const e = (await failureOf(promise)) as unknown as GrpcJs.ServiceError;
  const json = e.metadata.get('bilhetagem-error-bin')[0];
  return { code: e.code, details: e.details, blh: e.metadata.get('bilhetagem-error-code')[0], json: Buffer.isBuffer(json) ? JSON.parse(json.toString('utf8')) : undefined };
}

describe('bad messages', () => {
  it('refuses malformed data_json with INVALID_ARGUMENT naming the record, the field, line and column; nothing stored', async () => {
    const { client, store } = await grpcFixture();
    const s = await statusOf(submitRaw(client, [{ ...envelope, id: 'fine', data_json: '{}' }, { ...envelope, data_json: '{"duration_s": 61,\n "from": +55}' }]));
    expect(s.code).toBe(3);
    expect(s.blh).toBe('BLH_ERR_GRPC_MALFORMED_JSON');
    expect(s.details).toMatch(/^records\[1\]\.data_json is not valid JSON: .* at line 2, column 10 \(offset 28\)$/);
    expect(s.json).toMatchObject({ code: 'BLH_ERR_GRPC_MALFORMED_JSON', record: 1, field: 'data_json', line: 2, column: 10, offset: 28 });
    expect(await store.getRecord('voice-platform', 'fine')).toBeUndefined();
  });

  it('refuses extensions_json that is not an object of extension attributes', async () => {
    const { client } = await grpcFixture();
    const notObject = await statusOf(submitRaw(client, [{ ...envelope, extensions_json: '[1]' }]));
    expect(notObject).toMatchObject({ code: 3, blh: 'BLH_ERR_GRPC_BAD_RECORD', details: 'records[0].extensions_json must be a JSON object of extension attributes, not an array' });
    const typed = await statusOf(submitRaw(client, [{ ...envelope, extensions_json: '{"id":"sneaky"}' }]));
    expect(typed).toMatchObject({ code: 3, blh: 'BLH_ERR_GRPC_BAD_RECORD', json: { attribute: 'id', field: 'extensions_json', record: 0 } });
    expect(typed.details).toContain('set the field id instead');
    const badName = await statusOf(submitRaw(client, [{ ...envelope, extensions_json: '{"Trace-Id":"x"}' }]));
    expect(badName.details).toContain('"Trace-Id" is not a CloudEvents attribute name');
    const broken = await statusOf(submitRaw(client, [{ ...envelope, extensions_json: '{' }]));
    expect(broken).toMatchObject({ blh: 'BLH_ERR_GRPC_MALFORMED_JSON', json: { field: 'extensions_json' } });
  });

  it('refuses data nested deeper than maxDepth, and prototype-pollution keys, with the path', async () => {
    const { client } = await grpcFixture({ maxDepth: 5 });
    const deep = await statusOf(submitRaw(client, [{ ...envelope, data_json: '{"a":{"b":{"c":{"d":{"e":1}}}}}' }], 'Validate'));
    expect(deep).toMatchObject({ code: 3, blh: 'BLH_ERR_TOO_DEEP', json: { path: '/data/a/b/c/d', maxDepth: 5, record: 0 } });
    const proto = await statusOf(submitRaw(client, [{ ...envelope, data_json: '{"x":{"__proto__":{"admin":true}}}' }]));
    expect(proto).toMatchObject({ code: 3, blh: 'BLH_ERR_FORBIDDEN_KEY', json: { path: '/data/x/__proto__' } });
  });

  it('refuses an empty request and a batch over maxBatch with INVALID_ARGUMENT', async () => {
    const { client } = await grpcFixture({ maxBatch: 3 });
    expect(await failureOf(client.submit([]))).toMatchObject({ grpcStatusName: 'INVALID_ARGUMENT', code: 'BLH_ERR_GRPC_NO_RECORDS' });
    const e = await failureOf(client.validate([voice({ id: '1' }), voice({ id: '2' }), voice({ id: '3' }), voice({ id: '4' })]));
    expect(e).toMatchObject({ grpcStatusName: 'INVALID_ARGUMENT', code: 'BLH_ERR_BATCH_TOO_LARGE', details: { count: 4, maxBatch: 3 } });
    expect(e.message).toBe('the request holds 4 records; at most 3 are taken per call (send smaller batches, or use SubmitStream)');
  });

  it('refuses a message over maxMessageBytes with RESOURCE_EXHAUSTED before reading it', async () => {
    const { client, store } = await grpcFixture({ maxMessageBytes: 64 * 1024 });
    const huge = voice({ id: 'huge', padding: 'x'.repeat(100 * 1024) });
    const e = await failureOf(client.submit([huge]));
    expect(e.grpcStatusName).toBe('RESOURCE_EXHAUSTED');
    expect(e.message).toMatch(/larger than max \(\d+ vs\.? 65536\)/);
    expect(await store.getRecord('voice-platform', 'huge')).toBeUndefined();
    // A message under the limit still goes through on the same server.
    expect((await client.submit([voice({ id: 'small' })])).results[0].status).toBe('accepted');
  });

  it('refuses bytes that are not the method\'s protobuf message with INVALID_ARGUMENT, not INTERNAL', async () => {
    const { server, key } = await grpcFixture();
    const { error } = await rawCall(server.address, '/bilhetagem.v1.IngestService/Submit', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), { 'x-api-key': key });
    expect(error?.code).toBe(3);
    expect(error?.details).toMatch(/^the request is not a valid bilhetagem\.v1\.SubmitRequest protobuf message: /);
    expect(error?.metadata.get('bilhetagem-error-code')).toEqual(['BLH_ERR_GRPC_BAD_MESSAGE']);
  });

  it('answers UNIMPLEMENTED for a method it does not have', async () => {
    const { server, key } = await grpcFixture();
    const { error } = await rawCall(server.address, '/bilhetagem.v1.IngestService/Delete', Buffer.alloc(0), { 'x-api-key': key });
    expect(error?.code).toBe(12);
  });

  it('answers a trailer with the call id, and keeps a caller\'s own x-request-id', async () => {
    const { client, connect, key } = await grpcFixture();
    const e = (await failureOf(client.submit([]))) as unknown as { metadata: GrpcJs.Metadata };
    expect(e.metadata.get('x-request-id')[0]).toMatch(/^[0-9a-f]{8}-g\w+$/);
    const mine = await connect(key, { 'x-request-id': 'trace-42' });
    const e2 = (await failureOf(mine.submit([]))) as unknown as { metadata: GrpcJs.Metadata };
    expect(e2.metadata.get('x-request-id')).toEqual(['trace-42']);
  });
});
