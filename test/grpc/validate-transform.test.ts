import { describe, expect, it } from 'vitest';
import type * as GrpcJs from '@grpc/grpc-js';
import type { BatchResponseMessage } from '../../src/grpc/index.ts';
import { failureOf, grpcFixture, NOW, shippedPipeline, sms, voice } from './helpers.ts';

describe('Validate', () => {
  it('judges each record in order with every reason, by the running ruleset at the receive time', async () => {
    const { client, store } = await grpcFixture();
    const pipeline = await shippedPipeline();
    const r = await client.validate([
      voice({ id: 'ok' }),
      voice({ id: 'inbound' }, { direction: 'inbound' }),
      voice({ id: 'stranger', subject: 'nobody' }),
      voice({ id: 'typed' }, { duration_s: 'sixty' }),
    ]);
    expect(r.rulesetVersion).toBe(pipeline.version);
    expect(r.receivedAt).toBe(new Date(NOW).toISOString());
    expect(r.counts).toEqual({ accepted: 1, skipped: 1, duplicate: 0, conflict: 0, rejected: 2 });
    expect(r.results[0]).toEqual({ index: 0, status: 'accepted', source: 'voice-platform', id: 'ok' });
    expect(r.results[1]).toMatchObject({ index: 1, status: 'skipped', id: 'inbound', code: 'INBOUND_NOT_BILLED' });
    expect(r.results[1].message).toBeTruthy();
    expect(r.results[2]).toMatchObject({ index: 2, status: 'rejected', id: 'stranger' });
    expect(r.results[2].errors).toEqual([
      expect.objectContaining({ code: 'UNKNOWN_CUSTOMER', rule: 'unknown-customer', condition: expect.objectContaining({ fact: 'customer', result: true }) }),
    ]);
    expect(r.results[3].errors).toEqual([{ code: 'SCHEMA_VIOLATION', message: '/data/duration_s must be integer', path: '/data/duration_s', keyword: 'type', expected: 'integer', actual: 'sixty' }]);
    // Nothing is stored or logged by Validate.
    expect(await store.getRecord('voice-platform', 'ok')).toBeUndefined();
    expect((await store.listRejections({})).items).toEqual([]);
  });

  it('gives the same verdicts as the pipeline run directly', async () => {
    const { client } = await grpcFixture();
    const pipeline = await shippedPipeline();
    const records = [voice({ id: 'a' }), voice({ id: 'b', time: '2027-01-01T00:00:00Z' }), sms({ id: 'c' }), voice({ id: 'd', subject: 'initech' }), voice({ id: 'e' }, { duration_s: 0 })];
    const r = await client.validate(records);
    const direct = await pipeline.processBatch(records);
    expect(r.results.map((x) => x.status)).toEqual(direct.map((d) => d.verdict));
    expect(r.results.map((x) => x.errors?.map((e) => e.code) ?? x.code ?? null)).toEqual(direct.map((d) => (d.verdict === 'rejected' ? d.errors.map((e) => e.code) : d.verdict === 'skipped' ? d.code : null)));
  });

  it('keeps integers and floats apart: data travels as JSON, not as google.protobuf.Struct doubles', async () => {
    const { client } = await grpcFixture();
    const r = await client.validate([voice({ id: 'int' }, { duration_s: 61 }), voice({ id: 'float' }, { duration_s: 61.5 })]);
    expect(r.results[0].status).toBe('accepted');
    expect(r.results[1].errors).toEqual([expect.objectContaining({ code: 'SCHEMA_VIOLATION', path: '/data/duration_s', keyword: 'type', expected: 'integer', actual: 61.5 })]);
  });

  it('treats an empty field as an absent attribute, so missing fields are schema violations with their paths', async () => {
    const { client } = await grpcFixture();
    const r = await client.validate([{ ...voice(), id: '', time: '' }, { specversion: '1.0', id: 'x', source: 'voice-platform', type: 'voice.call.completed', time: '2026-11-25T11:00:00Z', subject: 'acme' }]);
    expect(r.results[0]).toMatchObject({ status: 'rejected', source: 'voice-platform' });
    expect(r.results[0].id).toBeUndefined();
    expect(r.results[0].errors!.map((e) => [e.path, e.keyword])).toEqual([
      ['/id', 'required'],
      ['/time', 'required'],
    ]);
    expect(r.results[1].errors!.map((e) => [e.path, e.keyword])).toEqual([['/data', 'required']]);
  });

  it('rejects wrong types inside data with the JSON pointer, and data that is not an object', async () => {
    const { client } = await grpcFixture();
    const r = await client.validate([voice({ id: 'a' }, { direction: 'sideways', region: 7 }), { ...voice({ id: 'b' }), data: [1, 2] }]);
    expect(r.results[0].errors!.map((e) => e.path).sort()).toEqual(['/data/direction', '/data/region']);
    expect(r.results[1].errors).toEqual([expect.objectContaining({ path: '/data', keyword: 'type', expected: 'object' })]);
  });

  it('passes extension attributes through to the record', async () => {
    const { client } = await grpcFixture();
    const r = await client.validate([voice({ id: 'ext', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' })]);
    expect(r.results[0].status).toBe('accepted');
  });
});

describe('Transform', () => {
  it('answers what every target would receive, the same as the pipeline maps it', async () => {
    const { client } = await grpcFixture();
    const pipeline = await shippedPipeline();
    const record = voice({ id: 't1' });
    const r = await client.transform([record, voice({ id: 't2', subject: 'nobody' })]);
    const direct = await pipeline.process(record);
    expect(direct.verdict).toBe('accepted');
    expect(Object.keys(r.results[0].outputs!).sort()).toEqual([...pipeline.targets].sort());
    expect(r.results[0].outputs).toEqual(direct.verdict === 'accepted' ? direct.outputs : undefined);
    expect(r.results[1]).toMatchObject({ status: 'rejected', errors: [expect.objectContaining({ code: 'UNKNOWN_CUSTOMER' })] });
    expect(r.results[1].outputs).toBeUndefined();
  });

  it('answers only the targets asked for, and refuses an unknown one by name', async () => {
    const { client } = await grpcFixture();
    const r = await client.transform([voice()], { targets: ['lago'] });
    expect(Object.keys(r.results[0].outputs!)).toEqual(['lago']);
    expect(r.results[0].outputs!.lago).toMatchObject({ transaction_id: 'voice-platform:call-1', external_subscription_id: 'sub_acme_001' });

    const e = await failureOf(client.transform([voice()], { targets: ['lago', 'sap'] }));
    expect(e.grpcStatusName).toBe('INVALID_ARGUMENT');
    expect(e.code).toBe('BLH_ERR_GRPC_UNKNOWN_TARGET');
    expect(e.message).toContain('"sap"');
    expect(e.details).toMatchObject({ targets: ['sap'], known: expect.arrayContaining(['default', 'lago', 'openmeter', 'stripe']) });
  });

  it('speaks plain protobuf on the wire: enum names, JSON text fields, snake_case', async () => {
    const { client } = await grpcFixture();
    const md = client.metadata();
    const response = await new Promise<BatchResponseMessage>((resolve, reject) =>
      (client.raw.transformation as unknown as { Transform: (req: unknown, md: GrpcJs.Metadata, cb: (e: Error | null, r: BatchResponseMessage) => void) => void }).Transform(
        {
          records: [
            {
              specversion: '1.0', id: 'wire', source: 'voice-platform', type: 'voice.call.completed', time: '2026-11-25T11:00:00Z', subject: 'acme',
              data_json: '{"duration_s":61,"from":"+5511987654321","to":"+5521912345678","direction":"outbound","region":"br-sp"}',
            },
          ],
          targets: ['default'],
        },
        md,
        (e, r) => (e ? reject(e) : resolve(r)),
      ),
    );
    expect(response.counts).toEqual({ accepted: 1, skipped: 0, duplicate: 0, conflict: 0, rejected: 0 });
    const result = response.results[0];
    expect(result.status).toBe('RECORD_STATUS_ACCEPTED');
    expect(typeof result.outputs_json.default).toBe('string');
    expect(JSON.parse(result.outputs_json.default)).toBeTypeOf('object');
    expect(result.errors).toEqual([]);
    expect(result.existing).toBeNull();
  });
});
