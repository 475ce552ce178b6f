/**
 * The mock biller: one node:http server (no framework on the hot path: the forwarding benchmark measures
 * undici against it) serving the four billing APIs, what it received, and fault injection.
 *
 * Routes
 *   POST /v1/charges                   generic HTTP target
 *   POST /api/v1/events                Lago (application/json) or OpenMeter (application/cloudevents[-batch]+json)
 *   POST /api/v1/events/batch          Lago batch
 *   POST /v1/billing/meter_events      Stripe
 *   The same under /lago, /openmeter, /stripe prefixes, to pick the API whatever the content type.
 *   GET /received[?items=false]        per endpoint: items, distinct keys, duplicates, requests, overlapping (Stripe); fault counts
 *   DELETE /received                   forget everything received
 *   GET /faults · POST /faults (JSON, replaces) · DELETE /faults
 *   GET /health
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OptionsError } from '../errors.js';
import { handleCharges } from './charges.js';
import { FaultState } from './faults.js';
import type { Faults } from './faults.js';
import { handleLagoBatch, handleLagoEvent } from './lago.js';
import { handleOpenMeter, openMeterContentType } from './openmeter.js';
import { createStripeHandler } from './stripe.js';
import { EndpointLog, Endpoints, json } from './types.js';
import type { EndpointContext, EndpointName, FaultCounts, MockRequest, MockResponse, ReceivedReport } from './types.js';

export interface MockBillerOptions {
  /** Faults active from the start. */
  faults?: Faults;
  /** Seed of the fault generator. Default 1. */
  seed?: number;
  /** Epoch ms: outage windows and Stripe's timestamp window. Default `Date.now`. */
  now?: () => number;
  /** Keep every accepted item (for `received().items`). Default true; false keeps only keys and counts. */
  keepItems?: boolean;
  /** Require `Authorization: Bearer <key>` on an endpoint. */
  apiKeys?: Partial<Record<EndpointName, string>>;
  /** Largest request body, bytes. Default 10 MiB. */
  bodyLimit?: number;
}

export interface MockBiller {
  /** Port 0 (default) picks a free one. Host default 127.0.0.1. */
  listen(port?: number, host?: string): Promise<{ port: number; host: string; url: string }>;
  /** Stops listening and drops open connections, hung ones included. Idempotent. */
  close(): Promise<void>;
  received(options?: { items?: boolean }): ReceivedReport;
  /** Forgets what was received (the faults stay). */
  reset(): void;
  /** Replaces the faults; returns them as resolved. */
  setFaults(faults: Faults): Faults;
}

type Handler = (req: MockRequest, ctx: EndpointContext) => MockResponse;

const KNOWN = ['faults', 'seed', 'now', 'keepItems', 'apiKeys', 'bodyLimit'];

export function createMockBiller(options: MockBillerOptions = {}): MockBiller {
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) throw new OptionsError(`createMockBiller: unknown option "${key}" (known: ${KNOWN.join(', ')})`, { option: key });
  }
  const now = options.now ?? Date.now;
  const keepItems = options.keepItems ?? true;
  const bodyLimit = options.bodyLimit ?? 10 * 1024 * 1024;
  const apiKeys = options.apiKeys ?? {};
  const faults = new FaultState(options.seed ?? 1, now);
  faults.set(options.faults);
  const logs = Object.fromEntries(Endpoints.map((e) => [e, new EndpointLog(keepItems)])) as Record<EndpointName, EndpointLog>;
  const stripe = createStripeHandler();
  const counts: FaultCounts = { outage: 0, burst429: 0, timeout: 0, failure: 0, failAfterStore: 0 };
  const timers = new Set<NodeJS.Timeout>();

  function later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  }

  function route(method: string | undefined, rawPath: string, req: IncomingMessage): { endpoint: EndpointName; handler: Handler } | undefined {
    if (method !== 'POST') return undefined;
    let path = rawPath;
    let forced: EndpointName | undefined;
    for (const prefix of ['lago', 'openmeter', 'stripe'] as const) {
      if (path.startsWith(`/${prefix}/`)) {
        forced = prefix;
        path = path.slice(prefix.length + 1);
        break;
      }
    }
    switch (path) {
      case '/v1/charges':
        return forced === undefined ? { endpoint: 'charges', handler: handleCharges } : undefined;
      case '/api/v1/events': {
        const ct = openMeterContentType(req.headers);
        if (forced === 'openmeter' || (forced === undefined && (ct === 'single' || ct === 'batch'))) return { endpoint: 'openmeter', handler: handleOpenMeter };
        return forced === undefined || forced === 'lago' ? { endpoint: 'lago', handler: handleLagoEvent } : undefined;
      }
      case '/api/v1/events/batch':
        return forced === undefined || forced === 'lago' ? { endpoint: 'lago', handler: handleLagoBatch } : undefined;
      case '/v1/billing/meter_events':
        return forced === undefined || forced === 'stripe' ? { endpoint: 'stripe', handler: stripe.handle } : undefined;
      default:
        return undefined;
    }
  }

  function bill(endpoint: EndpointName, handler: Handler, req: IncomingMessage, res: ServerResponse, body: string): void {
    const decision = faults.before();
    switch (decision.kind) {
      case 'outage':
        counts.outage += 1;
        return send(res, json(503, { error: 'service_unavailable', message: 'mock biller outage' }, { 'retry-after': String(decision.retryAfterS) }));
      case 'burst429':
        counts.burst429 += 1;
        return send(res, json(429, { error: 'rate_limited' }, { 'retry-after': String(decision.retryAfterS) }));
      case 'timeout': {
        counts.timeout += 1;
        const delay = faults.faults.timeoutDelayMs;
        if (delay !== undefined) later(delay, () => send(res, json(504, { error: 'gateway_timeout' })));
        return; // never answered: the client's timeout decides
      }
      case 'failure':
        counts.failure += 1;
        return send(res, json(500, { error: 'internal_error', message: 'injected failure; nothing stored' }));
      case 'none':
        break;
    }
    const response = handler({ path: req.url ?? '', headers: req.headers, body }, { log: logs[endpoint], now: now(), apiKey: apiKeys[endpoint] });
    if (response.status >= 200 && response.status < 300 && faults.afterStore()) {
      counts.failAfterStore += 1;
      return send(res, json(500, { error: 'internal_error', message: 'injected failure after the item was stored' }));
    }
    send(res, response);
  }

  function admin(method: string | undefined, path: string, query: string, res: ServerResponse, body: string): boolean {
    if (path === '/received') {
      if (method === 'GET') send(res, json(200, received({ items: !/(^|&)items=false(&|$)/.test(query) })));
      else if (method === 'DELETE') {
        reset();
        send(res, { status: 204 });
      } else send(res, json(405, { error: 'method_not_allowed' }));
      return true;
    }
    if (path === '/faults') {
      if (method === 'GET') send(res, json(200, faults.view()));
      else if (method === 'DELETE') {
        faults.set({});
        send(res, { status: 204 });
      } else if (method === 'POST') {
        try {
          faults.set(body === '' ? {} : JSON.parse(body));
          send(res, json(200, faults.view()));
        } catch (error) {
          send(res, json(400, { error: 'invalid_faults', message: (error as Error).message }));
        }
      } else send(res, json(405, { error: 'method_not_allowed' }));
      return true;
    }
    if (path === '/health') {
      send(res, json(200, { ok: true }));
      return true;
    }
    return false;
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q + 1);
    const target = route(req.method, path, req);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (chunk: Buffer) => {
      if (tooBig) return;
      size += chunk.length;
      if (size > bodyLimit) {
        tooBig = true;
        send(res, json(413, { error: 'payload_too_large' }, { connection: 'close' }));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooBig) return;
      const body = chunks.length === 0 ? '' : chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      if (target !== undefined) {
        logs[target.endpoint].requests += 1;
        if (target.endpoint === 'stripe') watchOverlap(res, body);
        const latency = faults.faults.latencyMs;
        if (latency) later(latency, () => bill(target.endpoint, target.handler, req, res, body));
        else bill(target.endpoint, target.handler, req, res, body);
        return;
      }
      if (!admin(req.method, path, query, res, body)) send(res, json(404, { error: 'not_found', message: `${req.method} ${path}` }));
    });
  }

  /** Stripe requests unanswered, by customer and meter. */
  const unanswered = new Map<string, number>();

  /** Counts a Stripe request that arrives while another for its customer and meter is unanswered; until its own answer (or the client gives up). */
  function watchOverlap(res: ServerResponse, body: string): void {
    const form = new URLSearchParams(body);
    const key = `${form.get('payload[stripe_customer_id]') ?? ''}\u001f${form.get('event_name') ?? ''}`;
    const n = unanswered.get(key) ?? 0;
    if (n > 0) logs.stripe.overlapping += 1;
    unanswered.set(key, n + 1);
    res.once('close', () => {
      const left = (unanswered.get(key) ?? 1) - 1;
      if (left > 0) unanswered.set(key, left);
      else unanswered.delete(key);
    });
  }

  function received({ items = true }: { items?: boolean } = {}): ReceivedReport {
    const endpoints = Object.fromEntries(Endpoints.map((e) => [e, logs[e].report(items)])) as ReceivedReport['endpoints'];
    return { endpoints, faults: { ...counts } };
  }

  function reset(): void {
    for (const e of Endpoints) logs[e].clear();
    stripe.reset();
    for (const k of Object.keys(counts) as (keyof FaultCounts)[]) counts[k] = 0;
  }

  const server = createServer({ keepAliveTimeout: 65_000 }, onRequest);
  let closing: Promise<void> | undefined;

  return {
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const addr = server.address() as AddressInfo;
          const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
          resolve({ port: addr.port, host: addr.address, url: `http://${shown}:${addr.port}` });
        });
      });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
    received,
    reset,
    setFaults: (f) => faults.set(f),
  };
}

function send(res: ServerResponse, r: MockResponse): void {
  if (res.headersSent || res.destroyed) return;
  const body = r.body ?? '';
  res.writeHead(r.status, { ...r.headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}
