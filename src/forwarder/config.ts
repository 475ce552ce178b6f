/**
 * The `targets` section of bilhetagem.config.json: validated, `${VAR}` expanded from an environment the
 * caller passes in (the library never reads process.env), and each target tied to the mapping folder whose
 * output it sends.
 *
 *   "targets": {
 *     "billing": { "preset": "http", "url": "http://127.0.0.1:9090/v1/charges", "auth": { "type": "bearer", "token": "${BILLING_TOKEN}" } },
 *     "lago":    { "preset": "lago", "url": "https://api.getlago.com", "apiKey": "${LAGO_API_KEY}" }
 *   }
 *
 * The outbox holds one row per record and *target name*; the pipeline maps per *mapping folder*. An `http`
 * target uses mappings/default unless `mapping` names another folder; lago/openmeter/stripe use the folder
 * of their preset's name. `outputsForTargets` renames the pipeline's outputs for the store.
 */
import { OptionsError } from '../errors.ts';
import { createRetryPolicy } from './retry-policy.ts';
import type { RetryLimits } from './retry-policy.ts';
import { createBreaker } from './breaker.ts';
import type { BreakerOptions } from './breaker.ts';
import { EnvMissingError, TargetConfigError } from './errors.ts';
import { createTarget } from './targets/index.ts';
import type { HttpAuth, TargetAdapter, TargetOptions, TargetPreset } from './targets/index.ts';
import { TargetPresets } from './targets/types.ts';

export type BreakerConfig = Pick<BreakerOptions, 'failureThreshold' | 'failureRate' | 'minRequests' | 'windowMs' | 'coolDownMs' | 'probeTimeoutMs'>;

/** One target as written in the config file. */
export interface TargetConfig {
  preset: TargetPreset;
  /** http: the URL items are POSTed to (required). Other presets: the API's base URL (default: the vendor's). */
  url?: string;
  /** http only. */
  auth?: HttpAuth;
  /** lago, stripe (required); openmeter (Cloud). Sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** stripe only: pins `Stripe-Version`. */
  stripeVersion?: string;
  headers?: Record<string, string>;
  /** http (default false), lago and openmeter (default true). */
  batch?: boolean;
  batchSize?: number;
  concurrency?: number;
  timeoutMs?: number;
  /** The mapping folder whose output this target sends. Default: `default` for http, else the preset's name. */
  mapping?: string;
  retry?: Partial<RetryLimits>;
  breaker?: BreakerConfig;
}

export type TargetsConfig = Record<string, TargetConfig>;

export interface ResolvedTarget {
  name: string;
  preset: TargetPreset;
  mapping: string;
  adapter: TargetAdapter;
  retry: RetryLimits;
  breaker: BreakerConfig;
}

const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const COMMON = ['preset', 'headers', 'concurrency', 'timeoutMs', 'mapping', 'retry', 'breaker'];
const KNOWN: Record<TargetPreset, readonly string[]> = {
  http: [...COMMON, 'url', 'auth', 'batch', 'batchSize'],
  lago: [...COMMON, 'url', 'apiKey', 'batch', 'batchSize'],
  openmeter: [...COMMON, 'url', 'apiKey', 'batch', 'batchSize'],
  stripe: [...COMMON, 'url', 'apiKey', 'stripeVersion'],
};
const RETRY_KEYS = ['attempts', 'maxAgeMs', 'maxDelayMs', 'baseDelayMs'] as const;
const BREAKER_KEYS = ['failureThreshold', 'failureRate', 'minRequests', 'windowMs', 'coolDownMs', 'probeTimeoutMs'] as const;

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * `${NAME}` → the variable's value; `${NAME:-fallback}` → the fallback when unset or empty; `$${` → a literal
 * `${`. Walks objects and arrays; a reference to an unset variable throws BLH_ERR_ENV_MISSING naming it.
 */
export function expandEnv<T>(value: T, env: Env, path = 'targets'): T {
  if (typeof value === 'string') return expandString(value, env, path) as T;
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, `${path}[${i}]`)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, `${path}.${k}`)])) as T;
  }
  return value;
}

function expandString(text: string, env: Env, path: string): string {
  if (!text.includes('${')) return text;
  return text.replace(/\$(\$)?\{([^}]*)\}/g, (whole, escaped: string | undefined, inner: string) => {
    if (escaped) return whole.slice(1);
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(inner);
    if (!m) throw new TargetConfigError(`${path}: "\${${inner}}" is not a variable reference (write \${NAME} or \${NAME:-default})`, { path });
    const v = env[m[1]!];
    if (v !== undefined && v !== '') return v;
    if (m[2] !== undefined) return m[2];
    if (v === '') return v;
    throw new EnvMissingError(m[1]!, path);
  });
}

/** The mapping folder a target sends the output of. */
export function mappingOf(target: { preset?: unknown; mapping?: unknown }): string {
  if (typeof target.mapping === 'string' && target.mapping !== '') return target.mapping;
  return target.preset === 'http' ? 'default' : String(target.preset);
}

/** The mapping folders the pipeline must map to so every configured target gets its output. */
export function mappingTargets(targets: Record<string, { preset?: unknown; mapping?: unknown }>): string[] {
  return [...new Set(Object.values(targets).map(mappingOf))];
}

/**
 * The pipeline's outputs (keyed by mapping folder) renamed to target names, for `store.ingest`: one outbox
 * row per configured target. A target whose mapping has no output for this record gets no row. With no
 * targets configured the outputs pass unchanged (rows keyed by mapping folder wait for a target of that name).
 */
export function outputsForTargets(outputs: Record<string, unknown>, targets: Record<string, { preset?: unknown; mapping?: unknown }> | undefined): Record<string, unknown> {
  if (targets === undefined || Object.keys(targets).length === 0) return outputs;
  const out: Record<string, unknown> = {};
  for (const [name, target] of Object.entries(targets)) {
    const mapping = mappingOf(target);
    if (Object.hasOwn(outputs, mapping)) out[name] = outputs[mapping];
  }
  return out;
}

export interface ResolveTargetsOptions {
  /** Where `${VAR}` comes from. Default: nothing, so any `${VAR}` without a default fails. */
  env?: Env;
  /** Mapping folders that exist; when given, a target naming another one is refused. */
  mappings?: readonly string[];
}

/** Validates the whole `targets` section and builds each target's adapter. Errors name the target and option. */
export function resolveTargets(config: unknown, options: ResolveTargetsOptions = {}): Record<string, ResolvedTarget> {
  if (config === undefined) return {};
  if (!isObject(config)) throw new TargetConfigError('"targets" must be an object of named targets', { option: 'targets' });
  const expanded = expandEnv(config, options.env ?? {});
  const out: Record<string, ResolvedTarget> = {};
  for (const [name, raw] of Object.entries(expanded)) out[name] = resolveTarget(name, raw, options.mappings);
  return out;
}

function resolveTarget(name: string, raw: unknown, mappings: readonly string[] | undefined): ResolvedTarget {
  const where = `targets.${name}`;
  if (!TARGET_NAME.test(name)) {
    throw new TargetConfigError(`target name "${name}" must be 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit`, { target: name });
  }
  if (!isObject(raw)) throw new TargetConfigError(`${where} must be an object`, { target: name });
  const preset = raw.preset;
  if (typeof preset !== 'string' || !(TargetPresets as readonly string[]).includes(preset)) {
    throw new TargetConfigError(`${where}.preset must be one of ${TargetPresets.join(', ')}, got ${JSON.stringify(preset)}`, { target: name, option: 'preset' });
  }
  const p = preset as TargetPreset;
  for (const key of Object.keys(raw)) {
    if (!KNOWN[p].includes(key)) {
      throw new TargetConfigError(`${where}: unknown option "${key}" for preset ${p} (known: ${KNOWN[p].join(', ')})`, { target: name, option: key });
    }
  }
  const mapping = mappingOf(raw);
  if (typeof raw.mapping !== 'undefined' && (typeof raw.mapping !== 'string' || raw.mapping === '')) {
    throw new TargetConfigError(`${where}.mapping must be a mapping folder name`, { target: name, option: 'mapping' });
  }
  if (mappings !== undefined && !mappings.includes(mapping)) {
    throw new TargetConfigError(`${where} sends the output of mappings/${mapping}/, which does not exist (mapping folders: ${mappings.join(', ')})`, {
      target: name,
      option: 'mapping',
    });
  }
  const { mapping: _m, retry, breaker, url, preset: _p, ...rest } = raw;
  const adapterOptions: Record<string, unknown> = { ...rest, name, preset: p };
  if (url !== undefined) adapterOptions[p === 'http' ? 'url' : 'apiUrl'] = url;
  let adapter: TargetAdapter;
  try {
    adapter = createTarget(adapterOptions as unknown as TargetOptions);
  } catch (error) {
    if (error instanceof OptionsError) {
      const option = typeof error.details.option === 'string' ? (error.details.option === 'apiUrl' ? 'url' : error.details.option) : undefined;
      const message = error.message.replace(/^[a-z]+ target: /, '').replace(/"apiUrl"/, '"url"');
      throw new TargetConfigError(`${where}: ${message}`, { target: name, ...(option ? { option } : {}) }, error);
    }
    throw error;
  }
  return { name, preset: p, mapping, adapter, retry: resolveRetry(retry, where, name), breaker: resolveBreaker(breaker, where, name) };
}

function resolveRetry(raw: unknown, where: string, target: string): RetryLimits {
  const picked = pick(raw, RETRY_KEYS, `${where}.retry`, target);
  return checked(() => createRetryPolicy(picked).limits, `${where}.retry`, target);
}

function resolveBreaker(raw: unknown, where: string, target: string): BreakerConfig {
  const picked = pick(raw, BREAKER_KEYS, `${where}.breaker`, target);
  checked(() => createBreaker(picked), `${where}.breaker`, target);
  return picked as BreakerConfig;
}

/** The policy and breaker factories check their numbers; their OptionsError is re-thrown naming the target. */
function checked<T>(make: () => T, where: string, target: string): T {
  try {
    return make();
  } catch (error) {
    if (!(error instanceof OptionsError)) throw error;
    const option = typeof error.details.option === 'string' ? error.details.option : undefined;
    const message = error.message.replace(/^[A-Za-z]+: /, '');
    throw new TargetConfigError(`${where}: ${message}`, { target, ...(option ? { option } : {}) }, error);
  }
}

function pick(raw: unknown, keys: readonly string[], where: string, target: string): Record<string, unknown> {
  if (raw === undefined) return {};
  if (!isObject(raw)) throw new TargetConfigError(`${where} must be an object`, { target });
  for (const key of Object.keys(raw)) {
    if (!keys.includes(key)) throw new TargetConfigError(`${where}: unknown option "${key}" (known: ${keys.join(', ')})`, { target, option: key });
  }
  return raw;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Targets for every endpoint of a mock biller at `url`, named after the mapping folders (so outputs need no
 * renaming): what `npm start` and the demos use.
 */
export function mockBillerTargets(url: string, options: { apiKey?: string } = {}): TargetsConfig {
  const base = url.replace(/\/+$/, '');
  const apiKey = options.apiKey ?? 'demo';
  return {
    default: { preset: 'http', url: `${base}/v1/charges` },
    lago: { preset: 'lago', url: base, apiKey },
    openmeter: { preset: 'openmeter', url: base },
    stripe: { preset: 'stripe', url: base, apiKey },
  };
}
