/**
 * The only place the forwarder touches the network: one undici Agent per target (a keep-alive pool for the
 * target's origin, as many connections as the target's concurrency) and one send = one request, with a few quick in-process retries
 * of connection errors (sendWithRetry). Answers, 5xx included, come back as they are; the outbox decides.
 */
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { isConnectionError, sendWithRetry } from './retry-policy.ts';
import type { TargetAnswer, TargetFailure, TargetRequest } from './targets/index.ts';

export interface Sender {
  /** Never throws: no answer is a `TargetFailure`. */
  send(req: TargetRequest): Promise<TargetAnswer | TargetFailure>;
  close(): Promise<void>;
}

export interface SenderOptions {
  connections: number;
  timeoutMs: number;
  /** How long an idle connection is kept, ms. Default 30 000 (capped by the server's keep-alive hint). */
  keepAliveTimeoutMs?: number;
  /** Tests and benchmarks may bring their own dispatcher; it is not closed by `close()`. */
  dispatcher?: Dispatcher;
}

/** Timeouts below this get an exact timer; longer ones use undici's (which may fire up to a second late). */
const EXACT_BELOW_MS = 2000;

/** Answers larger than this are cut: only an excerpt is ever stored. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export function createSender(options: SenderOptions): Sender {
  const own = options.dispatcher === undefined;
  const dispatcher: Dispatcher =
    options.dispatcher ??
    new Agent({
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
      keepAliveMaxTimeout: Math.max(options.keepAliveTimeoutMs ?? 30_000, 60_000),
    });
  const timeoutMs = options.timeoutMs;

  // undici's own headers/body timeouts tick at about one second: good enough for timeouts of seconds, and
  // free. A shorter timeout gets a timer of its own, which also bounds the whole exchange.
  const exact = timeoutMs < EXACT_BELOW_MS;

  async function once(req: TargetRequest): Promise<TargetAnswer> {
    if (!exact) {
      const res = await dispatcher.request({ origin: req.origin, method: req.method, path: req.path, headers: req.headers, body: req.body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      return { status: res.statusCode, headers: res.headers, body: await readBody(res.body) };
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(timeoutError(timeoutMs)), timeoutMs);
    try {
      const res = await dispatcher.request({
        origin: req.origin,
        method: req.method,
        path: req.path,
        headers: req.headers,
        body: req.body,
        signal: controller.signal,
        headersTimeout: timeoutMs + 1000,
        bodyTimeout: timeoutMs + 1000,
      });
      return { status: res.statusCode, headers: res.headers, body: await readBody(res.body) };
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async send(req) {
      try {
        return await once(req);
      } catch (first) {
        if (!isConnectionError(first)) return { error: asError(first) };
      }
      // A connection error (reset, refused) gets two quick retries here; p-retry only on this path, so the
      // common case costs one plain request. The body may have left before the error: the resend is safe
      // because of the idempotency key.
      try {
        return await sendWithRetry(() => once(req), { retries: 1, minTimeoutMs: 25, maxTimeoutMs: 250, maxRetryTimeMs: timeoutMs });
      } catch (error) {
        return { error: asError(error) };
      }
    },
    async close() {
      if (own) await dispatcher.close();
    },
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function timeoutError(ms: number): Error {
  return Object.assign(new Error(`no answer within ${ms} ms`), { name: 'TimeoutError', code: 'ETIMEDOUT' });
}

async function readBody(body: Dispatcher.ResponseData['body']): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size >= MAX_ANSWER_BYTES) continue; // keep reading so the connection can be reused
    parts.push(chunk);
    size += chunk.length;
  }
  const text = parts.length === 1 ? parts[0]!.toString('utf8') : Buffer.concat(parts).toString('utf8');
  return size > MAX_ANSWER_BYTES ? text.slice(0, MAX_ANSWER_BYTES) : text;
}
