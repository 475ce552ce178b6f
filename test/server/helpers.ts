import { Writable } from 'node:stream';
import pino from 'pino';
import type { FastifyBaseLogger, FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterEach } from 'vitest';
import { createMemoryStore } from '../../src/adapters/memory/index.ts';
import { issueApiKey } from '../../src/auth/index.ts';
import { buildServer } from '../../src/server/index.ts';
import type { ServerOptions } from '../../src/server/index.ts';
import { REDACTED_PATHS } from '../../src/server/logger.ts';
import type { Store } from '../../src/ports/store.ts';
import { MAPPINGS_DIR, NOW, RULES_DIR, voice } from '../support/ruleset.ts';

export { NOW, voice };
export const NOW_MS = Date.parse(NOW);

export function sms(over: Record<string, unknown> = {}) {
  return { specversion: '1.0', id: 'sms-1', source: 'sms-gateway', type: 'sms.sent', time: '2026-11-25T11:30:00Z', subject: 'acme', data: { segments: 2, to: '+14155550100', region: 'us-east' }, ...over };
}

/** Every log line the server wrote, parsed, with the raw text too (to search for secrets). */
export interface CapturedLogs {
  lines: Record<string, unknown>[];
  text(): string;
}

export function captureLogs(): { logger: FastifyBaseLogger; logs: CapturedLogs } {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      raw.push(String(chunk));
      done();
    },
  });
  const logger = pino({ level: 'trace', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, stream) as unknown as FastifyBaseLogger;
  return {
    logger,
    logs: {
      get lines() {
        return raw.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      },
      text: () => raw.join(''),
    },
  };
}

export interface TestServer {
  app: FastifyInstance;
  store: Store;
  /** A key for voice-platform and sms-gateway. */
  key: string;
  /** A key for mobile-core only. */
  otherKey: string;
  logs: CapturedLogs;
  close(): Promise<void>;
  post(body: unknown, options?: { key?: string; contentType?: string; url?: string; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  get(url: string, key?: string): Promise<LightMyRequestResponse>;
}

const open: { app: FastifyInstance; store: Store }[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) {
    await s.app.close();
    await s.store.close();
  }
});

/**
 * A server on a memory store with the shipped ruleset, "now" fixed at NOW; closed after the test
 * (or, with `shared`, when the caller calls close(): for servers set up in beforeAll).
 */
export async function testServer(options: Partial<ServerOptions> = {}, { shared = false } = {}): Promise<TestServer> {
  const store = options.store ?? createMemoryStore();
  const { logger, logs } = captureLogs();
  const app = await buildServer({ store, rules: RULES_DIR, mappings: MAPPINGS_DIR, clock: () => NOW_MS, logger, docs: false, ...options });
  if (!shared) open.push({ app, store });
  const { key } = await issueApiKey(store, { name: 'voice and sms', sources: ['voice-platform', 'sms-gateway'] });
  const { key: otherKey } = await issueApiKey(store, { name: 'data', sources: ['mobile-core'] });
  return {
    app,
    store,
    key,
    otherKey,
    logs,
    async close() {
      await app.close();
      await store.close();
    },
    post(body, o = {}) {
      const request: InjectOptions = {
        method: 'POST',
        url: o.url ?? '/v1/records',
        headers: { 'content-type': o.contentType ?? 'application/json', 'x-api-key': o.key ?? key, ...o.headers },
        payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
      };
      return app.inject(request);
    },
    get(url, k = key) {
      return app.inject({ method: 'GET', url, headers: { 'x-api-key': k } });
    },
  };
}
