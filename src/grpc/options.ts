/** Options of startGrpcServer: every default in one place, unknown options refused by name. */
import { OptionsError } from '../errors.ts';
import type { Pipeline } from '../pipeline.ts';
import type { Store } from '../ports/store.ts';
import type { RateLimitOptions } from '../server/options.ts';

/** A pino-compatible logger: what the server calls on it. */
export interface GrpcLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Counters the HTTP server keeps too (its `Metrics`), so /metrics can count records from both protocols. */
export interface GrpcMetrics {
  record(verdict: string, code: string): void;
  reason(code: string): void;
}

export interface GrpcServerOptions {
  /** The TCP port; 0 takes any free one (the handle says which). */
  port: number;
  /** The address to listen on. Default 0.0.0.0 (as `serve`). */
  host?: string;
  /** Where records, their outbox rows and the API keys live: the same store as the HTTP server. */
  store: Store;
  /**
   * The pipeline that judges records: a pipeline, or a function answering the running one (undefined while
   * none is loaded), so a ruleset reload of the HTTP server reaches gRPC calls too:
   * `() => app.bilhetagem.ruleset?.pipeline`. Every record of one call (one stream batch) is judged by one version.
   */
  pipeline: Pipeline | (() => Pipeline | undefined);
  /** Default: silent. */
  logger?: GrpcLogger;
  /** "Now" in epoch ms: the receive time of records. Default Date.now. */
  clock?: () => number;
  /** Largest request message, bytes; a larger one is refused with RESOURCE_EXHAUSTED before it is read. Default 4 MiB. */
  maxMessageBytes?: number;
  /** Most records in one Validate, Transform or Submit request. Default 1000. */
  maxBatch?: number;
  /** Deepest nesting of objects and arrays in one record. Default 32. */
  maxDepth?: number;
  /** Most records of one SubmitStream read and not yet answered; the server reads no further until answers go out. Default 256. */
  streamWindow?: number;
  /** A stream checks its API key again when this long has passed since the last check, so a revoked key stops a long stream. Default 10000 ms. */
  keyRecheckMs?: number;
  /** Keep the payload of rejected records in the rejection log. Default true. */
  keepRejectedPayloads?: boolean;
  /** Outputs by mapping folder to outbox rows by target name, as the HTTP server's option of the same name. */
  outbox?: (outputs: Record<string, unknown>) => Record<string, unknown>;
  /** Per-key rate limit of calls (a stream is one call), or false. Default 1000 calls/s, burst 2000 (as HTTP). */
  rateLimit?: RateLimitOptions | false;
  /** Serve grpc.health.v1.Health. Default true. */
  health?: boolean;
  /** How long stop() lets streams finish their in-flight records before cutting them off. Default 10000 ms. */
  drainTimeoutMs?: number;
  /** Record counters, e.g. those of the HTTP server, so /metrics counts gRPC records too. */
  metrics?: GrpcMetrics;
}

export const GRPC_DEFAULTS = {
  host: '0.0.0.0',
  maxMessageBytes: 4 * 1024 * 1024,
  maxBatch: 1000,
  maxDepth: 32,
  streamWindow: 256,
  keyRecheckMs: 10_000,
  keepRejectedPayloads: true,
  rateLimit: { requestsPerSecond: 1000, burst: 2000 },
  health: true,
  drainTimeoutMs: 10_000,
} as const;

export interface ResolvedGrpcOptions {
  port: number;
  host: string;
  store: Store;
  pipeline: () => Pipeline | undefined;
  logger: GrpcLogger;
  clock: () => number;
  maxMessageBytes: number;
  maxBatch: number;
  maxDepth: number;
  streamWindow: number;
  keyRecheckMs: number;
  keepRejectedPayloads: boolean;
  outbox: GrpcServerOptions['outbox'];
  rateLimit: Required<RateLimitOptions> | false;
  health: boolean;
  drainTimeoutMs: number;
  metrics: GrpcMetrics | undefined;
}

const KNOWN = new Set([
  'port', 'host', 'store', 'pipeline', 'logger', 'clock', 'maxMessageBytes', 'maxBatch', 'maxDepth', 'streamWindow',
  'keyRecheckMs', 'keepRejectedPayloads', 'outbox', 'rateLimit', 'health', 'drainTimeoutMs', 'metrics',
]);

const silent: GrpcLogger = { debug() {}, info() {}, warn() {}, error() {} };

export function resolveGrpcOptions(options: GrpcServerOptions): ResolvedGrpcOptions {
  if (typeof options !== 'object' || options === null) throw new OptionsError('gRPC server options must be an object');
  for (const k of Object.keys(options)) {
    if (!KNOWN.has(k)) throw new OptionsError(`unknown gRPC server option "${k}" (known: ${[...KNOWN].join(', ')})`, { option: k });
  }
  const o = options;
  const fail = (name: string, what: string) => new OptionsError(`gRPC server option "${name}" must be ${what}`, { option: name });
  if (!Number.isSafeInteger(o.port) || o.port < 0 || o.port > 65535) throw fail('port', 'a port number from 0 to 65535');
  const host = o.host ?? GRPC_DEFAULTS.host;
  if (typeof host !== 'string' || host === '') throw fail('host', 'an address such as 0.0.0.0, 127.0.0.1 or ::');
  if (typeof o.store !== 'object' || o.store === null || typeof o.store.ingest !== 'function') throw fail('store', 'a Store (createSqliteStore, createMemoryStore)');
  const pipeline = o.pipeline;
  let current: () => Pipeline | undefined;
  if (typeof pipeline === 'function') current = pipeline;
  else if (typeof pipeline === 'object' && pipeline !== null && typeof pipeline.processMaybeSync === 'function') current = () => pipeline;
  else throw fail('pipeline', 'a Pipeline (createPipeline) or a function answering the running one');
  const positive = (name: 'maxMessageBytes' | 'maxBatch' | 'maxDepth' | 'streamWindow' | 'keyRecheckMs' | 'drainTimeoutMs'): number => {
    const v = o[name] ?? GRPC_DEFAULTS[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw fail(name, 'a positive integer');
    return v;
  };
  const flag = (name: 'keepRejectedPayloads' | 'health'): boolean => {
    const v = o[name] ?? GRPC_DEFAULTS[name];
    if (typeof v !== 'boolean') throw fail(name, 'true or false');
    return v;
  };
  if (o.clock !== undefined && typeof o.clock !== 'function') throw fail('clock', 'a function returning epoch ms');
  if (o.outbox !== undefined && typeof o.outbox !== 'function') throw fail('outbox', 'a function (outputs) => rows by target');
  if (o.logger !== undefined && (typeof o.logger !== 'object' || o.logger === null || typeof o.logger.info !== 'function')) throw fail('logger', 'a pino-compatible logger');
  if (o.metrics !== undefined && (typeof o.metrics?.record !== 'function' || typeof o.metrics?.reason !== 'function')) throw fail('metrics', 'an object with record(verdict, code) and reason(code)');
  return {
    port: o.port,
    host,
    store: o.store,
    pipeline: current,
    logger: o.logger ?? silent,
    clock: o.clock ?? Date.now,
    maxMessageBytes: positive('maxMessageBytes'),
    maxBatch: positive('maxBatch'),
    maxDepth: positive('maxDepth'),
    streamWindow: positive('streamWindow'),
    keyRecheckMs: positive('keyRecheckMs'),
    keepRejectedPayloads: flag('keepRejectedPayloads'),
    outbox: o.outbox,
    rateLimit: resolveRateLimit(o.rateLimit, fail),
    health: flag('health'),
    drainTimeoutMs: positive('drainTimeoutMs'),
    metrics: o.metrics,
  };
}

function resolveRateLimit(value: GrpcServerOptions['rateLimit'], fail: (name: string, what: string) => OptionsError): Required<RateLimitOptions> | false {
  if (value === false) return false;
  const v = value ?? GRPC_DEFAULTS.rateLimit;
  if (typeof v !== 'object' || v === null || typeof v.requestsPerSecond !== 'number' || !(v.requestsPerSecond > 0)) throw fail('rateLimit', 'false or { requestsPerSecond > 0, burst? }');
  const burst = v.burst ?? Math.max(1, Math.ceil(v.requestsPerSecond * 2));
  if (typeof burst !== 'number' || !(burst >= 1)) throw fail('rateLimit', 'false or { requestsPerSecond > 0, burst >= 1 }');
  return { requestsPerSecond: v.requestsPerSecond, burst };
}
