/**
 * A server with the admin panel for the tests: the ingest server (src/server) and the panel plugin on one
 * Fastify app, over a memory store by default, with three accounts (admin, operator, viewer) and an API
 * key for records.
 */
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { createMemoryStore } from '../../src/adapters/memory/index.ts';
import { adminPanel } from '../../src/admin/index.ts';
import type { AdminPanelOptions, ForwarderView } from '../../src/admin/index.ts';
import { issueApiKey } from '../../src/auth/index.ts';
import { hashPassword } from '../../src/auth/passwords.ts';
import type { Store } from '../../src/ports/store.ts';
import type { InsightStore } from '../../src/ports/insight-store.ts';
import { bilhetagemServer, createServerState, resolveServerOptions } from '../../src/server/index.ts';
import type { ServerOptions } from '../../src/server/index.ts';
import type { RulesetHolder } from '../../src/server/ruleset-holder.ts';
import { MAPPINGS_DIR, RULES_DIR } from '../support/ruleset.ts';

export const PASSWORD = 'correct horse battery staple';
export const USERS = ['admin', 'operator', 'viewer'] as const;
export type TestUser = (typeof USERS)[number];

export interface PanelServer {
  app: FastifyInstance;
  store: Store & InsightStore;
  holder: RulesetHolder;
  /** An API key for every source. */
  key: string;
  /** Logs in and answers a client that sends the session cookie and the CSRF token. */
  as(user: TestUser | { username: string; password: string }): Promise<Client>;
  /** Records through the ingest API. */
  send(records: unknown[]): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface Client {
  cookie: string;
  csrf: string;
  get(url: string): Promise<LightMyRequestResponse>;
  post(url: string, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  del(url: string): Promise<LightMyRequestResponse>;
}

export const silent = () => pino({ level: 'silent' }) as unknown as FastifyBaseLogger;

export async function panelServer(
  options: { store?: Store & InsightStore; clock?: () => number; forwarder?: ForwarderView; admin?: Partial<AdminPanelOptions>; server?: Partial<ServerOptions>; rules?: string; mappings?: string } = {},
): Promise<PanelServer> {
  const store = options.store ?? createMemoryStore();
  const clock = options.clock ?? Date.now;
  const rules = options.rules ?? RULES_DIR;
  const mappings = options.mappings ?? MAPPINGS_DIR;
  const logger = silent();
  const panel: Partial<AdminPanelOptions> = { clock, logger, sampleIntervalMs: 0, cacheMs: 0, ...(options.forwarder ? { forwarder: options.forwarder } : {}), ...(options.server?.pipeline ? { pipeline: options.server.pipeline } : {}), ...options.admin };
  // Mounted inside the server's own context (its `extend` hook), where the server is meant to mount it.
  // The holder exists once the state does; the plugin is registered after that, when the app is built.
  const late: { holder?: RulesetHolder } = {};
  const extend = (app: FastifyInstance) => app.register(adminPanel, { ...panel, store, rulesets: late.holder! });
  // buildServer mounts the panel itself; these tests mount their own with test options, so the server's is off.
  const state = await createServerState(resolveServerOptions({ store, rules, mappings, clock, logger, docs: false, rateLimit: false, extend, admin: false, ...options.server }));
  late.holder = state.holder;
  const app = Fastify({ loggerInstance: logger, trustProxy: options.server?.trustProxy ?? false });
  await app.register(bilhetagemServer, { state });
  await app.ready();

  for (const role of USERS) await store.createAccount({ username: role, role, passwordHash: await hashPassword(PASSWORD) });
  const { key } = await issueApiKey(store, { name: 'all', sources: ['*'] });

  const as: PanelServer['as'] = async (who) => {
    const { username, password } = typeof who === 'string' ? { username: who, password: PASSWORD } : who;
    const res = await app.inject({ method: 'POST', url: '/admin/api/login', payload: { username, password } });
    if (res.statusCode !== 200) throw new Error(`login of ${username} failed: ${res.statusCode} ${res.body}`);
    return client(app, cookieOf(res), res.json().csrfToken);
  };

  return {
    app,
    store,
    holder: state.holder,
    key,
    as,
    send: (records) => app.inject({ method: 'POST', url: '/v1/records', headers: { 'content-type': 'application/json', 'x-api-key': key }, payload: JSON.stringify(records) }),
    async close() {
      await app.close();
      await store.close();
    },
  };
}

export function cookieOf(res: LightMyRequestResponse): string {
  const header = res.headers['set-cookie'];
  const line = Array.isArray(header) ? header[0] : header;
  if (!line) throw new Error('no Set-Cookie in the answer');
  return line.split(';')[0]!;
}

export function client(app: FastifyInstance, cookie: string, csrf: string): Client {
  return {
    cookie,
    csrf,
    get: (url) => app.inject({ method: 'GET', url, headers: { cookie } }),
    post: (url, body = {}, headers = {}) => app.inject({ method: 'POST', url, headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) }),
    del: (url) => app.inject({ method: 'DELETE', url, headers: { cookie, 'x-csrf-token': csrf } }),
  };
}

/** A record of the shipped ruleset, received `agoMs` before `now`. */
export function voiceRecord(id: string, now: number, over: Record<string, unknown> = {}, data: Record<string, unknown> = {}) {
  return {
    specversion: '1.0',
    id,
    source: 'voice-platform',
    type: 'voice.call.completed',
    time: new Date(now - 10 * 60_000).toISOString(),
    subject: 'acme',
    data: { duration_s: 61, from: '+5511987654321', to: '+5521912345678', direction: 'outbound', region: 'br-sp', ...data },
    ...over,
  };
}
