/**
 * A real gRPC server on 127.0.0.1 (port 0) over a real SQLite store in a temp folder, judged by the
 * shipped ruleset with "now" fixed at NOW, and real @grpc/grpc-js clients. Everything opened here is
 * closed after each test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import type { SqliteStore } from '../../src/adapters/sqlite/index.ts';
import { issueApiKey } from '../../src/auth/index.ts';
import { createGrpcClient, startGrpcServer } from '../../src/grpc/index.ts';
import type { BilhetagemGrpcClient, GrpcCallError, GrpcServerHandle, GrpcServerOptions } from '../../src/grpc/index.ts';
import { createPipeline, loadRuleset } from '../../src/index.ts';
import type { Pipeline, Ruleset } from '../../src/index.ts';
import { MAPPINGS_DIR, NOW, RULES_DIR, voice } from '../support/ruleset.ts';

export { NOW, voice };
export const NOW_MS = Date.parse(NOW);

export function sms(over: Record<string, unknown> = {}) {
  return { specversion: '1.0', id: 'sms-1', source: 'sms-gateway', type: 'sms.sent', time: '2026-11-25T11:30:00Z', subject: 'acme', data: { segments: 2, to: '+14155550100', region: 'us-east' }, ...over };
}

let ruleset: Promise<Ruleset> | undefined;
export const shippedRuleset = () => (ruleset ??= loadRuleset({ rules: RULES_DIR, mappings: MAPPINGS_DIR }));

export async function shippedPipeline(): Promise<Pipeline> {
  return createPipeline(await shippedRuleset(), { clock: () => NOW_MS });
}

export interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

export function captureLogger() {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines, text: () => JSON.stringify(lines) };
}

export interface GrpcFixture {
  server: GrpcServerHandle;
  store: SqliteStore;
  dir: string;
  /** A key for voice-platform and sms-gateway. */
  key: string;
  /** A key for mobile-core only. */
  otherKey: string;
  otherKeyId: string;
  keyId: string;
  /** A client with `key`. */
  client: BilhetagemGrpcClient;
  logs: ReturnType<typeof captureLogger>;
  /** Another client (another key, or none). */
  connect(apiKey?: string, metadata?: Record<string, string>): Promise<BilhetagemGrpcClient>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

export async function grpcFixture(options: Partial<GrpcServerOptions> & { storeWrapper?: (s: SqliteStore) => SqliteStore } = {}): Promise<GrpcFixture> {
  const { storeWrapper, ...serverOptions } = options;
  const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-grpc-'));
  const realStore = createSqliteStore({ filename: join(dir, 'bilhetagem.db') });
  const store = storeWrapper ? storeWrapper(realStore) : realStore;
  cleanups.push(async () => {
    await realStore.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const { key, info } = await issueApiKey(store, { name: 'voice and sms', sources: ['voice-platform', 'sms-gateway'] });
  const { key: otherKey, info: other } = await issueApiKey(store, { name: 'data', sources: ['mobile-core'] });
  const logs = captureLogger();
  const server = await startGrpcServer({ port: 0, host: '127.0.0.1', store, pipeline: await shippedPipeline(), clock: () => NOW_MS, logger: logs.logger, ...serverOptions });
  cleanups.push(() => server.stop());
  const connect = async (apiKey?: string, metadata?: Record<string, string>) => {
    const c = await createGrpcClient({ address: server.address, ...(apiKey === undefined ? {} : { apiKey }), ...(metadata ? { metadata } : {}) });
    cleanups.push(async () => c.close());
    return c;
  };
  return { server, store: realStore, dir, key, otherKey, keyId: info.id, otherKeyId: other.id, client: await connect(key), logs, connect };
}

/** The rejection of a promise, for asserting on it. */
export async function failureOf(promise: Promise<unknown>): Promise<GrpcCallError> {
  try {
    await promise;
  } catch (error) {
    return error as GrpcCallError;
  }
  throw new Error('expected the call to fail');
}

/** A raw grpc-js client that sends bytes of our choosing, for messages no stub would make. */
export function rawCall(address: string, method: string, bytes: Buffer, metadata: Record<string, string> = {}): Promise<{ error: grpc.ServiceError | null; response: Buffer | undefined }> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      method,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      md,
      (error, response) => {
        client.close();
        resolve({ error: error ?? null, response });
      },
    );
  });
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
