import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { createMemoryStore } from '../../src/adapters/memory/index.ts';
import { buildRuntime, findProtoDir, PROTO_FILES } from '../../src/grpc/load.ts';
import { createGrpcClient, resolveGrpcOptions, startGrpcServer } from '../../src/grpc/index.ts';
import type { Pipeline } from '../../src/index.ts';
import { ROOT } from '../support/ruleset.ts';
import { failureOf, grpcFixture, shippedPipeline, voice } from './helpers.ts';

describe('health', () => {
  it('answers SERVING for the server and each service, NOT_FOUND for others, without an API key', async () => {
    const { connect } = await grpcFixture();
    const c = await connect();
    expect(await c.health()).toBe('SERVING');
    for (const s of ['bilhetagem.v1.ValidationService', 'bilhetagem.v1.TransformationService', 'bilhetagem.v1.IngestService', 'grpc.health.v1.Health']) expect(await c.health(s)).toBe('SERVING');
    expect(await failureOf(c.health('nope.Service'))).toMatchObject({ grpcStatusName: 'NOT_FOUND' });
  });

  it('is NOT_SERVING while no ruleset is loaded, and record calls answer UNAVAILABLE', async () => {
    const running: { pipeline?: Pipeline } = {};
    const { client } = await grpcFixture({ pipeline: () => running.pipeline });
    expect(await client.health()).toBe('NOT_SERVING');
    expect(await failureOf(client.validate([voice()]))).toMatchObject({ grpcStatusName: 'UNAVAILABLE', code: 'BLH_ERR_NOT_READY', message: 'no ruleset is loaded yet' });
    running.pipeline = await shippedPipeline();
    expect(await client.health()).toBe('SERVING');
    expect((await client.validate([voice()])).results[0].status).toBe('accepted');
  });

  it('streams the status with Watch and ends it with NOT_SERVING when the server stops', async () => {
    const { server, connect } = await grpcFixture();
    const c = await connect();
    const watch = (c.raw.health as unknown as { Watch(req: unknown): grpc.ClientReadableStream<{ status: string }> }).Watch({ service: '' });
    const seen: string[] = [];
    const ended = new Promise<void>((resolve) => {
      watch.on('data', (m: { status: string }) => {
        seen.push(m.status);
        if (seen.length === 1) void server.stop();
      });
      watch.on('end', () => resolve());
      watch.on('error', () => resolve());
    });
    await ended;
    expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
  });
});

describe('stop', () => {
  it('answers the records a stream has sent, then ends it with UNAVAILABLE; refuses new calls; is idempotent', async () => {
    const { server, client, store } = await grpcFixture();
    const stream = client.submitStream();
    const iterator = stream.answers();
    stream.send(voice({ id: 'before-stop' }));
    expect((await iterator.next()).value).toMatchObject({ result: { status: 'accepted', id: 'before-stop' } });
    const stopping = server.stop();
    const e = await failureOf(iterator.next());
    expect(e).toMatchObject({ grpcStatusName: 'UNAVAILABLE', code: 'BLH_ERR_NOT_READY' });
    expect(e.message).toContain('shutting down');
    await stopping;
    await server.stop();
    expect(await store.getRecord('voice-platform', 'before-stop')).toBeDefined();
    expect(await failureOf(client.validate([voice()], { deadlineMs: 2000 }))).toMatchObject({ grpcStatusName: 'UNAVAILABLE' });
  });

  it('lets a unary call in flight finish before it closes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { server, client } = await grpcFixture({
      storeWrapper: (s) =>
        new Proxy(s, {
          get(target, prop, receiver) {
            if (prop === 'ingest') return async (items: never) => (await gate, target.ingest(items));
            const v = Reflect.get(target, prop, receiver);
            return typeof v === 'function' ? v.bind(target) : v;
          },
        }),
    });
    const pending = client.submit([voice({ id: 'in-flight' })]);
    await new Promise((r) => setTimeout(r, 100));
    const stopped = server.stop();
    release();
    expect((await pending).results[0].status).toBe('accepted');
    await stopped;
  });
});

describe('startGrpcServer', () => {
  it('fails with BLH_ERR_GRPC_LISTEN when the port is taken', async () => {
    const { server } = await grpcFixture();
    const e = await failureOf(startGrpcServer({ port: server.port, host: '127.0.0.1', store: createMemoryStore(), pipeline: await shippedPipeline() }));
    expect(e.code).toBe('BLH_ERR_GRPC_LISTEN');
    expect(e.message).toContain(`127.0.0.1:${server.port}`);
  });

  it('refuses unknown and wrong options by name', async () => {
    const pipeline = await shippedPipeline();
    const store = createMemoryStore();
    expect(() => resolveGrpcOptions({ port: 0, store, pipeline, maxMesageBytes: 1 } as never)).toThrow(/unknown gRPC server option "maxMesageBytes"/);
    expect(() => resolveGrpcOptions({ port: -1, store, pipeline })).toThrow(/"port" must be a port number/);
    expect(() => resolveGrpcOptions({ port: 0, store, pipeline: {} as never })).toThrow(/"pipeline" must be a Pipeline/);
    expect(() => resolveGrpcOptions({ port: 0, store, pipeline, maxBatch: 0 })).toThrow(/"maxBatch" must be a positive integer/);
    const r = resolveGrpcOptions({ port: 0, store, pipeline });
    expect(r).toMatchObject({ host: '0.0.0.0', maxMessageBytes: 4 * 1024 * 1024, maxBatch: 1000, maxDepth: 32, streamWindow: 256, health: true });
    expect(r.pipeline()).toBe(pipeline);
  });

  it('fails with BLH_ERR_DRIVER_MISSING naming the package when @grpc/grpc-js or @grpc/proto-loader is not installed', async () => {
    const missing = () => Promise.reject(Object.assign(new Error("Cannot find package '@grpc/grpc-js'"), { code: 'ERR_MODULE_NOT_FOUND' }));
    const e = await failureOf(buildRuntime(missing, () => import('@grpc/proto-loader')));
    expect(e.code).toBe('BLH_ERR_DRIVER_MISSING');
    expect(e.message).toContain('"@grpc/grpc-js"');
    expect(e.message).toContain('npm install @grpc/grpc-js @grpc/proto-loader');
    expect(e.details).toEqual({ package: '@grpc/grpc-js' });
    const e2 = await failureOf(buildRuntime(() => import('@grpc/grpc-js'), missing));
    expect(e2.details).toEqual({ package: '@grpc/proto-loader' });
  });

  it('serves a client that knows only the shipped .proto file (as a service in another language would)', async () => {
    const { server, key } = await grpcFixture();
    const loader = await import('@grpc/proto-loader');
    const dir = findProtoDir()!;
    expect(dir).toBe(join(ROOT, 'proto/'));
    for (const f of PROTO_FILES) expect(existsSync(join(dir, f))).toBe(true);
    const definition = loader.loadSync(join(dir, 'bilhetagem/v1/bilhetagem.proto'), { keepCase: false, enums: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { bilhetagem: { v1: { IngestService: new (address: string, creds: grpc.ChannelCredentials) => grpc.Client } } };
    const ingest = new pkg.bilhetagem.v1.IngestService(server.address, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set('x-api-key', key);
    const record = { specversion: '1.0', id: 'plain', source: 'voice-platform', type: 'voice.call.completed', time: '2026-11-25T11:00:00Z', subject: 'acme', dataJson: JSON.stringify(voice().data) };
    const response = await new Promise<{ results: { status: string }[] }>((resolve, reject) =>
      (ingest as unknown as { submit: (req: unknown, md: grpc.Metadata, cb: (e: Error | null, r: { results: { status: string }[] }) => void) => void }).submit({ records: [record] }, md, (e, r) => (e ? reject(e) : resolve(r))),
    );
    ingest.close();
    expect(response.results[0].status).toBe('RECORD_STATUS_ACCEPTED');
  });

  it('keeps the .proto package, services and field numbers stable (changing them breaks clients in every language)', () => {
    const proto = readFileSync(join(ROOT, 'proto/bilhetagem/v1/bilhetagem.proto'), 'utf8');
    expect(proto).toContain('package bilhetagem.v1;');
    for (const rpc of [
      'rpc Validate(ValidateRequest) returns (ValidateResponse);',
      'rpc Transform(TransformRequest) returns (TransformResponse);',
      'rpc Submit(SubmitRequest) returns (SubmitResponse);',
      'rpc SubmitStream(stream SubmitStreamRequest) returns (stream SubmitStreamResponse);',
    ]) expect(proto).toContain(rpc);
    for (const field of ['string id = 2;', 'string source = 3;', 'string data_json = 9;', 'string extensions_json = 10;', 'RecordStatus status = 2;', 'repeated RejectionReason errors = 7;', 'map<string, string> outputs_json = 9;']) {
      expect(proto).toContain(field);
    }
  });

  it('the client helper fails with a GrpcCallError when no server listens', async () => {
    const c = await createGrpcClient({ address: '127.0.0.1:1', apiKey: 'blh_x.y' });
    const e = await failureOf(c.validate([voice()], { deadlineMs: 3000 }));
    c.close();
    expect(e.code).toBe('BLH_ERR_GRPC_CALL_FAILED');
    expect(['UNAVAILABLE', 'DEADLINE_EXCEEDED']).toContain(e.grpcStatusName);
  });
});
