/**
 * What every call of one gRPC server shares: its options, the loaded grpc-js, the rate limiter, call ids,
 * and the three steps every record call takes first — not closing, who is calling (the same API keys,
 * looked up on every call as over HTTP), within the rate limit.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Metadata, StatusObject } from '@grpc/grpc-js';
import { authenticateKey } from '../server/authenticate.ts';
import type { Principal } from '../server/authenticate.ts';
import type { ItemResult } from '../server/ingest.ts';
import { notReady, rateLimited, unauthorized } from '../server/errors.ts';
import { createRateLimiter } from '../server/rate-limit.ts';
import type { RateLimiter } from '../server/rate-limit.ts';
import { ERROR_CODE_KEY, ERROR_JSON_KEY, GrpcStatus, statusOf } from './errors.ts';
import type { GrpcStatusCode } from './errors.ts';
import type { GrpcModule } from './load.ts';
import type { ResolvedGrpcOptions } from './options.ts';

export const REQUEST_ID_KEY = 'x-request-id';
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

const STATUS_NAMES = new Map<number, string>(Object.entries(GrpcStatus).map(([name, code]) => [code, name]));
export const statusName = (code: number): string => STATUS_NAMES.get(code) ?? String(code);

export interface GrpcContext {
  o: ResolvedGrpcOptions;
  grpc: GrpcModule;
  limiter: RateLimiter | undefined;
  /** Set by stop(): new calls are refused with UNAVAILABLE, streams drain. */
  closing: boolean;
  /** The caller's own x-request-id when it is a plain token, else one of ours. */
  callId(metadata: Metadata): string;
}

export function createContext(o: ResolvedGrpcOptions, grpc: GrpcModule): GrpcContext {
  const boot = randomBytes(4).toString('hex');
  let calls = 0;
  return {
    o,
    grpc,
    limiter: o.rateLimit ? createRateLimiter(o.rateLimit, o.clock) : undefined,
    closing: false,
    callId(metadata) {
      const given = metadata.get(REQUEST_ID_KEY)[0];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : `${boot}-g${(++calls).toString(36)}`;
    },
  };
}

/** The API key of a call: metadata `x-api-key: <key>` or `authorization: Bearer <key>`, as the HTTP headers. */
export function presentedKey(metadata: Metadata): string | undefined {
  const key = metadata.get('x-api-key')[0];
  if (typeof key === 'string' && key.trim() !== '') return key.trim();
  const auth = metadata.get('authorization')[0];
  if (typeof auth === 'string' && /^bearer /i.test(auth)) return auth.slice(7).trim();
  return undefined;
}

export async function authenticate(ctx: GrpcContext, metadata: Metadata): Promise<Principal> {
  const raw = presentedKey(metadata);
  if (raw === undefined) throw unauthorized('an API key is required: send it as call metadata "x-api-key: <key>" or "authorization: Bearer <key>"');
  return authenticateKey(ctx.o.store, raw);
}

/** Closing, who is calling, rate limit: in that order, so an unauthenticated caller learns nothing else. */
export async function admit(ctx: GrpcContext, metadata: Metadata): Promise<Principal> {
  if (ctx.closing) throw notReady('the server is shutting down; retry against another instance or after it restarts', 5);
  const principal = await authenticate(ctx, metadata);
  const wait = ctx.limiter ? ctx.limiter.take(`${principal.kind}:${principal.id}`) : 0;
  if (wait > 0) throw rateLimited(wait, ctx.limiter!.limit);
  return principal;
}

/** A status for any error, with the code and the error's JSON in the trailers; the cause of an internal one is logged here. */
export function failure(ctx: GrpcContext, error: unknown, callId: string, method: string): StatusObject {
  const s = statusOf(error, callId);
  // As the HTTP server: the cause of a server-side failure goes to the log, never to the client.
  if (s.internal) ctx.o.logger.error({ event: 'grpc:error', method, callId, err: (s.error.cause ?? s.error) as object }, s.error.message);
  else if ((s.error.statusCode ?? 0) >= 500) ctx.o.logger.warn({ event: 'grpc:error', method, callId, code: s.error.code, err: (s.error.cause ?? s.error) as object }, s.error.message);
  const metadata = new ctx.grpc.Metadata();
  metadata.set(ERROR_CODE_KEY, s.error.code);
  metadata.set(ERROR_JSON_KEY, Buffer.from(JSON.stringify(s.error.toJSON()), 'utf8'));
  metadata.set(REQUEST_ID_KEY, callId);
  return { code: s.code as GrpcStatusCode, details: s.details, metadata };
}

/** Facts of one call for its log line. */
export interface CallLog {
  method: string;
  callId: string;
  started: number;
  principal?: Principal;
  records?: number;
}

export function beginCall(ctx: GrpcContext, method: string, metadata: Metadata): CallLog {
  return { method, callId: ctx.callId(metadata), started: performance.now() };
}

/** One line per call, as the HTTP server writes one per request: with the caller's key prefix, never the key. */
export function logCall(ctx: GrpcContext, call: CallLog, status: StatusObject | undefined): void {
  const code = status?.code ?? GrpcStatus.OK;
  const p = call.principal;
  const fields = {
    event: 'grpc:call',
    method: call.method,
    callId: call.callId,
    status: statusName(code),
    ...(status ? { code: status.metadata?.get(ERROR_CODE_KEY)[0] } : {}),
    ...(call.records !== undefined ? { records: call.records } : {}),
    responseTime: Math.round((performance.now() - call.started) * 1000) / 1000,
    ...(p ? { caller: p.prefix ?? p.name } : {}),
  };
  ctx.o.logger.info(fields, status ? `grpc call failed: ${status.details}` : 'grpc call completed');
}

/** Stored answers counted as the HTTP server counts them: by status and first code, and every rejection reason. */
export function countMetrics(o: ResolvedGrpcOptions, results: readonly ItemResult[]): void {
  if (!o.metrics) return;
  for (const r of results) {
    o.metrics.record(r.status, r.errors?.[0]?.code ?? r.code ?? '');
    if (r.errors) for (const e of r.errors) o.metrics.reason(e.code);
  }
}
