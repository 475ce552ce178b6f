/** Options of buildServer: every default in one place, unknown options refused by name. */
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from './authenticate.ts';
import { OptionsError } from '../errors.ts';
import type { PipelineOptions } from '../pipeline.ts';
import type { Ruleset } from '../core/ruleset/types.ts';
import type { Store } from '../ports/store.ts';
import type { AdminPanelOptions } from '../admin/options.ts';

/** The forwarder's handle, as the server needs it: started when the server is ready, stopped (drained) when it closes. */
export interface ForwarderHandle {
  start(): unknown;
  stop(): unknown;
  /** Shown in /readyz. */
  stats?(): unknown;
  /** Prometheus text appended to /metrics (deliveries, attempts, latency, breakers). */
  metrics?(): string;
}

/** What `extend` gets besides the app: the server's own admin check, for routes of other parts. */
export interface ExtendTools {
  /** An @admin API key or an admin account (HTTP Basic); throws 401/403 otherwise. */
  authorizeAdmin(request: FastifyRequest): Promise<Principal>;
}

export interface RateLimitOptions {
  /** Sustained requests per second per API key. */
  requestsPerSecond: number;
  /** Requests a key may send at once before the sustained rate applies. Default: 2 x requestsPerSecond. */
  burst?: number;
}

export interface ServerOptions {
  /** Where records, their outbox rows and the keys live. The caller opens it and closes it after the server. */
  store: Store;
  /** Folder of rules (manifest, schemas, rules, reference data). Default ./rules */
  rules?: string;
  /** Folder of mappings, one sub-folder per target. Default ./mappings */
  mappings?: string;
  /** A parsed ruleset to run instead of reading the folders; it cannot be reloaded. */
  ruleset?: Ruleset;
  /** Passed to createPipeline (targets, mapping limits...). The clock is the server's. */
  pipeline?: Omit<PipelineOptions, 'clock'>;
  /** Reload the ruleset when a file under `rules` or `mappings` changes. Default false (serve turns it on). */
  watch?: boolean;
  /** How long the files must be quiet before a watched change is loaded, ms. Default 300. */
  watchDebounceMs?: number;
  /** A pino (or pino-compatible) logger. Default: silent. */
  logger?: FastifyBaseLogger;
  /** Largest request body, bytes. Default 1 MiB. */
  bodyLimit?: number;
  /** Most records in one request. Default 1000. */
  maxBatch?: number;
  /** Deepest nesting of objects and arrays in one record. Default 32. */
  maxDepth?: number;
  /** Per-key rate limit, or false for none. Default 1000 requests/s, burst 2000. */
  rateLimit?: RateLimitOptions | false;
  /** Keep the payload of rejected records in the rejection log. Default true. */
  keepRejectedPayloads?: boolean;
  /** Serve /openapi.json and the Swagger UI at /docs. Default true. */
  docs?: boolean;
  /** Trust X-Forwarded-* from a proxy in front (Fastify's trustProxy). Default false. */
  trustProxy?: boolean | string | string[];
  /** Started when the server is ready, stopped when it closes. */
  forwarder?: ForwarderHandle;
  /**
   * Turns an accepted record's outputs (by mapping folder) into its outbox rows (by target name), e.g. the
   * forwarder's `outputsForTargets(outputs, targets)`. Default: one row per mapping folder of the pipeline.
   */
  outbox?: (outputs: Record<string, unknown>) => Record<string, unknown>;
  /** The admin panel at /admin (sessions, roles, CSRF, audit): true (default), false, or its options. */
  admin?: boolean | Partial<Omit<AdminPanelOptions, 'store' | 'rulesets'>>;
  /** "Now" in epoch ms: the receive time of records. Default Date.now. */
  clock?: () => number;
  /**
   * Registers more routes inside the server's context (same parsers, error vocabulary, request ids), e.g.
   * the forwarder's admin routes: `extend: (app, { authorizeAdmin }) => app.register(adminRoutes, { store,
   * authorize: async (req) => (await authorizeAdmin(req)).name })`.
   */
  extend?: (app: FastifyInstance, tools: ExtendTools) => unknown;
}

export const SERVER_DEFAULTS = {
  rules: 'rules',
  mappings: 'mappings',
  watch: false,
  watchDebounceMs: 300,
  bodyLimit: 1024 * 1024,
  maxBatch: 1000,
  maxDepth: 32,
  rateLimit: { requestsPerSecond: 1000, burst: 2000 },
  keepRejectedPayloads: true,
  docs: true,
  trustProxy: false,
  admin: true,
} as const;

export interface ResolvedServerOptions {
  store: Store;
  rules: string;
  mappings: string;
  ruleset: Ruleset | undefined;
  pipeline: Omit<PipelineOptions, 'clock'>;
  watch: boolean;
  watchDebounceMs: number;
  logger: FastifyBaseLogger | undefined;
  bodyLimit: number;
  maxBatch: number;
  maxDepth: number;
  rateLimit: Required<RateLimitOptions> | false;
  keepRejectedPayloads: boolean;
  docs: boolean;
  trustProxy: boolean | string | string[];
  forwarder: ForwarderHandle | undefined;
  clock: () => number;
  extend: ServerOptions['extend'];
  outbox: ServerOptions['outbox'];
  admin: false | Partial<Omit<AdminPanelOptions, 'store' | 'rulesets'>>;
}

const KNOWN = new Set([
  'store', 'rules', 'mappings', 'ruleset', 'pipeline', 'watch', 'watchDebounceMs', 'logger', 'bodyLimit', 'maxBatch',
  'maxDepth', 'rateLimit', 'keepRejectedPayloads', 'docs', 'trustProxy', 'forwarder', 'clock', 'extend', 'outbox', 'admin',
]);

export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  if (typeof options !== 'object' || options === null) throw new OptionsError('server options must be an object');
  for (const k of Object.keys(options)) {
    if (!KNOWN.has(k)) throw new OptionsError(`unknown server option "${k}" (known: ${[...KNOWN].join(', ')})`, { option: k });
  }
  const o = options;
  if (typeof o.store !== 'object' || o.store === null || typeof o.store.ingest !== 'function') {
    throw new OptionsError('server option "store" is required: a Store (createSqliteStore, createMemoryStore)', { option: 'store' });
  }
  const positive = (name: 'watchDebounceMs' | 'bodyLimit' | 'maxBatch' | 'maxDepth'): number => {
    const v = o[name] ?? SERVER_DEFAULTS[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new OptionsError(`server option "${name}" must be a positive integer`, { option: name });
    return v;
  };
  const text = (name: 'rules' | 'mappings'): string => {
    const v = o[name] ?? SERVER_DEFAULTS[name];
    if (typeof v !== 'string' || v === '') throw new OptionsError(`server option "${name}" must be a folder path`, { option: name });
    return v;
  };
  const flag = (name: 'watch' | 'keepRejectedPayloads' | 'docs'): boolean => {
    const v = o[name] ?? SERVER_DEFAULTS[name];
    if (typeof v !== 'boolean') throw new OptionsError(`server option "${name}" must be true or false`, { option: name });
    return v;
  };
  if (o.forwarder !== undefined && (typeof o.forwarder?.start !== 'function' || typeof o.forwarder?.stop !== 'function')) {
    throw new OptionsError('server option "forwarder" must be a handle with start() and stop()', { option: 'forwarder' });
  }
  if (o.outbox !== undefined && typeof o.outbox !== 'function') throw new OptionsError('server option "outbox" must be a function (outputs) => rows by target', { option: 'outbox' });
  if (o.extend !== undefined && typeof o.extend !== 'function') throw new OptionsError('server option "extend" must be a function (app, tools) => ...', { option: 'extend' });
  if (o.clock !== undefined && typeof o.clock !== 'function') throw new OptionsError('server option "clock" must be a function returning epoch ms', { option: 'clock' });
  if (o.ruleset !== undefined && o.watch) throw new OptionsError('server options "ruleset" and "watch" do not go together: a given ruleset is not read from files', { option: 'watch' });
  return {
    store: o.store,
    rules: text('rules'),
    mappings: text('mappings'),
    ruleset: o.ruleset,
    pipeline: o.pipeline ?? {},
    watch: flag('watch'),
    watchDebounceMs: positive('watchDebounceMs'),
    logger: o.logger,
    bodyLimit: positive('bodyLimit'),
    maxBatch: positive('maxBatch'),
    maxDepth: positive('maxDepth'),
    rateLimit: resolveRateLimit(o.rateLimit),
    keepRejectedPayloads: flag('keepRejectedPayloads'),
    docs: flag('docs'),
    trustProxy: o.trustProxy ?? SERVER_DEFAULTS.trustProxy,
    forwarder: o.forwarder,
    clock: o.clock ?? Date.now,
    extend: o.extend,
    outbox: o.outbox,
    admin: o.admin === false ? false : o.admin === undefined || o.admin === true ? {} : o.admin,
  };
}

function resolveRateLimit(value: ServerOptions['rateLimit']): Required<RateLimitOptions> | false {
  if (value === false) return false;
  const v = value ?? SERVER_DEFAULTS.rateLimit;
  if (typeof v !== 'object' || v === null || typeof v.requestsPerSecond !== 'number' || !(v.requestsPerSecond > 0)) {
    throw new OptionsError('server option "rateLimit" must be false or { requestsPerSecond > 0, burst? }', { option: 'rateLimit' });
  }
  const burst = v.burst ?? Math.max(1, Math.ceil(v.requestsPerSecond * 2));
  if (typeof burst !== 'number' || !(burst >= 1)) throw new OptionsError('server option "rateLimit.burst" must be at least 1', { option: 'rateLimit' });
  return { requestsPerSecond: v.requestsPerSecond, burst };
}
