/** Options of the admin panel plugin: every default in one place, unknown options refused by name. */
import type { FastifyBaseLogger } from 'fastify';
import { OptionsError } from '../errors.ts';
import type { Pipeline, PipelineOptions } from '../pipeline.ts';
import type { Ruleset } from '../core/ruleset/types.ts';
import type { InsightStore } from '../ports/insight-store.ts';
import type { Store } from '../ports/store.ts';
import type { LockoutOptions } from './lockout.ts';

/** The running ruleset as the panel sees it: the server's ruleset holder (src/server/ruleset-holder.ts) fits. */
export interface RulesetAccess {
  readonly current: { pipeline: Pipeline; version: string; name: string; loadedAt: Date } | undefined;
  readonly lastFailure?: { at: Date; trigger: string; error: { code: string; message: string } } | undefined;
  /** Loads the files on disk again (the "reload" button); rejects with the ruleset error, keeping the running one. */
  reload?(trigger: string): Promise<{ changed: boolean; version: string; previous: string | undefined }>;
  /**
   * Puts a parsed ruleset in service (compiling it with the server's pipeline options) and records the
   * activation with its files; rejects, keeping the running one, when it does not compile. Without it the
   * panel cannot activate or roll back.
   */
  swap?(ruleset: Ruleset, trigger: string): Promise<{ changed: boolean; version: string; previous: string | undefined }>;
}

/** The forwarder's handle, when one runs in this process: its stats show breakers; wake() sends retried rows at once. */
export interface ForwarderView {
  stats?(): unknown;
  wake?(): void;
}

export interface AlertThresholds {
  /** The oldest undelivered record is older than this, seconds. Default 600. */
  oldestPendingSeconds: number;
  /** Rejected share of the records received in the last 5 minutes at or above this. Default 0.25. */
  rejectShare: number;
  /** ... and at least this many rejections in those 5 minutes. Default 10. */
  rejectMinimum: number;
  /** Dead letters made within this many minutes, with some still open. Default 15. */
  deadLetterWindowMinutes: number;
}

export interface AdminPanelOptions {
  store: Store & Partial<InsightStore>;
  rulesets: RulesetAccess;
  forwarder?: ForwarderView;
  logger?: FastifyBaseLogger;
  /** Epoch ms. Default Date.now. */
  clock?: () => number;
  /** The server's pipeline options: candidates are compiled with them (same targets) before activation. */
  pipeline?: Omit<PipelineOptions, 'clock'>;
  /** Secure cookie: 'auto' (default) when the request came over TLS (with trustProxy: X-Forwarded-Proto), or always/never. */
  secureCookie?: 'auto' | boolean;
  /** A session ends after this long without a request, ms. Default 30 minutes. */
  sessionIdleMs?: number;
  /** ... and this long after login, ms. Default 12 hours. */
  sessionMaxAgeMs?: number;
  lockout?: Partial<LockoutOptions>;
  alerts?: Partial<AlertThresholds>;
  /** How often queue depth is sampled for the overview's charts, ms; 0 = only when the overview is read. Default 15 000. */
  sampleIntervalMs?: number;
  /** The overview's numbers are computed at most this often, ms. Default 2000. */
  cacheMs?: number;
  /** Largest JSON body (candidate rulesets, playground records), bytes. Default 5 MiB. */
  bodyLimit?: number;
}

export const ADMIN_DEFAULTS = {
  secureCookie: 'auto',
  sessionIdleMs: 30 * 60_000,
  sessionMaxAgeMs: 12 * 3_600_000,
  lockout: { freeFailures: 5, baseDelayMs: 30_000, maxDelayMs: 15 * 60_000, forgetMs: 60 * 60_000 },
  alerts: { oldestPendingSeconds: 600, rejectShare: 0.25, rejectMinimum: 10, deadLetterWindowMinutes: 15 },
  sampleIntervalMs: 15_000,
  cacheMs: 2000,
  bodyLimit: 5 * 1024 * 1024,
} as const;

export interface ResolvedAdminOptions {
  store: Store & Partial<InsightStore>;
  rulesets: RulesetAccess;
  forwarder: ForwarderView | undefined;
  logger: FastifyBaseLogger | undefined;
  clock: () => number;
  pipeline: Omit<PipelineOptions, 'clock'>;
  secureCookie: 'auto' | boolean;
  sessionIdleMs: number;
  sessionMaxAgeMs: number;
  lockout: LockoutOptions;
  alerts: AlertThresholds;
  sampleIntervalMs: number;
  cacheMs: number;
  bodyLimit: number;
}

const KNOWN = ['store', 'rulesets', 'forwarder', 'logger', 'clock', 'pipeline', 'secureCookie', 'sessionIdleMs', 'sessionMaxAgeMs', 'lockout', 'alerts', 'sampleIntervalMs', 'cacheMs', 'bodyLimit'];

export function resolveAdminOptions(options: AdminPanelOptions): ResolvedAdminOptions {
  if (typeof options !== 'object' || options === null) throw new OptionsError('admin panel options must be an object');
  for (const key of Object.keys(options)) {
    // Fastify adds its own plugin options (prefix, logLevel...); those are not ours to refuse.
    if (!KNOWN.includes(key) && !['prefix', 'logLevel', 'logSerializers'].includes(key)) throw new OptionsError(`unknown admin panel option "${key}" (known: ${KNOWN.join(', ')})`, { option: key });
  }
  const o = options;
  if (typeof o.store?.getAccount !== 'function') throw new OptionsError('admin panel option "store" is required: a Store', { option: 'store' });
  if (typeof o.rulesets !== 'object' || o.rulesets === null || !('current' in o.rulesets)) {
    throw new OptionsError('admin panel option "rulesets" is required: the server\'s ruleset holder (anything with `current`)', { option: 'rulesets' });
  }
  const number = (name: 'sessionIdleMs' | 'sessionMaxAgeMs' | 'sampleIntervalMs' | 'cacheMs' | 'bodyLimit', min: number): number => {
    const v = o[name] ?? ADMIN_DEFAULTS[name];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new OptionsError(`admin panel option "${name}" must be a number >= ${min}`, { option: name });
    return v;
  };
  const section = <T extends object>(name: 'lockout' | 'alerts', defaults: T, given: Partial<T> | undefined): T => {
    const out = { ...defaults };
    for (const [k, v] of Object.entries(given ?? {})) {
      if (!(k in defaults)) throw new OptionsError(`unknown admin panel option "${name}.${k}" (known: ${Object.keys(defaults).join(', ')})`, { option: `${name}.${k}` });
      if (typeof v !== 'number' || !(v >= 0)) throw new OptionsError(`admin panel option "${name}.${k}" must be a number >= 0`, { option: `${name}.${k}` });
      (out as Record<string, number>)[k] = v;
    }
    return out;
  };
  const secure = o.secureCookie ?? ADMIN_DEFAULTS.secureCookie;
  if (secure !== 'auto' && typeof secure !== 'boolean') throw new OptionsError('admin panel option "secureCookie" must be "auto", true or false', { option: 'secureCookie' });
  if (o.clock !== undefined && typeof o.clock !== 'function') throw new OptionsError('admin panel option "clock" must be a function returning epoch ms', { option: 'clock' });
  return {
    store: o.store,
    rulesets: o.rulesets,
    forwarder: o.forwarder,
    logger: o.logger,
    clock: o.clock ?? Date.now,
    pipeline: o.pipeline ?? {},
    secureCookie: secure,
    sessionIdleMs: number('sessionIdleMs', 1000),
    sessionMaxAgeMs: number('sessionMaxAgeMs', 1000),
    lockout: section('lockout', { ...ADMIN_DEFAULTS.lockout }, o.lockout),
    alerts: section('alerts', { ...ADMIN_DEFAULTS.alerts }, o.alerts),
    sampleIntervalMs: number('sampleIntervalMs', 0),
    cacheMs: number('cacheMs', 0),
    bodyLimit: number('bodyLimit', 1024),
  };
}
