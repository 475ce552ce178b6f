/** Every option of the RabbitMQ queue, its default, and the checks: unknown options are refused by name. */
import { OptionsError } from '../../errors.ts';
import type { Logger } from '../port.ts';
import { silentLogger } from '../port.ts';

export interface AmqpQueueOptions {
  /** `amqp://user:password@host:5672/vhost` (or `amqps://`). */
  url: string;
  /**
   * Names on the broker: exchange `<prefix>`, a queue `<prefix>.<target>` per target, dead-letter exchange
   * `<prefix>.dlx` and queues `<prefix>.<target>.dead`. One prefix per deployment. Default `bilhetagem`.
   */
  prefix?: string;
  /** AMQP heartbeat, seconds: how soon a silently dead connection is noticed (about twice this). Default 10. */
  heartbeatSeconds?: number;
  /** How long the first connection may take, ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** How long publish() waits for the broker's confirms before failing with BLH_ERR_QUEUE_UNAVAILABLE, ms. Default 30 000. */
  publishTimeoutMs?: number;
  /** Reconnect backoff after a lost connection, ms: doubles from `initialDelayMs` up to `maxDelayMs`, with jitter. Default 100 and 5000. */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** A message given back this many times (crashed consumers, 'retry') is dead-lettered; 0 = no limit. Default 20. */
  deliveryLimit?: number;
  /**
   * Most messages a target's queue holds; once it is full, publishes are refused (BLH_ERR_QUEUE_REFUSED) and the relay
   * keeps the rows until there is room. Quorum queues check before taking a message, so one more may get in. 0 = no limit. Default 0.
   */
  maxLength?: number;
  /** pino or anything with debug/info/warn/error(obj, msg). Default: silent. */
  logger?: Logger;
}

export interface ResolvedAmqpOptions {
  url: string;
  prefix: string;
  heartbeatSeconds: number;
  connectTimeoutMs: number;
  publishTimeoutMs: number;
  reconnect: { initialDelayMs: number; maxDelayMs: number };
  deliveryLimit: number;
  maxLength: number;
  logger: Logger;
}

export const AMQP_DEFAULTS = {
  prefix: 'bilhetagem',
  heartbeatSeconds: 10,
  connectTimeoutMs: 10_000,
  publishTimeoutMs: 30_000,
  reconnect: { initialDelayMs: 100, maxDelayMs: 5000 },
  deliveryLimit: 20,
  maxLength: 0,
} as const;

const KNOWN = ['url', 'prefix', 'heartbeatSeconds', 'connectTimeoutMs', 'publishTimeoutMs', 'reconnect', 'deliveryLimit', 'maxLength', 'logger'];
const PREFIX = /^(?!amq\.)[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function resolveAmqpOptions(options: AmqpQueueOptions): ResolvedAmqpOptions {
  if (options === null || typeof options !== 'object') throw new OptionsError('createAmqpQueue: options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) throw new OptionsError(`createAmqpQueue: unknown option "${key}" (known: ${KNOWN.join(', ')})`, { option: key });
  }
  if (typeof options.url !== 'string' || !/^amqps?:\/\//.test(options.url)) {
    throw new OptionsError('createAmqpQueue: url must be an AMQP URL (amqp://user:password@host:5672/vhost)', { option: 'url' });
  }
  const reconnect = options.reconnect ?? {};
  if (typeof reconnect !== 'object' || reconnect === null) throw new OptionsError('createAmqpQueue: reconnect must be an object', { option: 'reconnect' });
  for (const key of Object.keys(reconnect)) {
    if (key !== 'initialDelayMs' && key !== 'maxDelayMs') throw new OptionsError(`createAmqpQueue: unknown option "reconnect.${key}"`, { option: `reconnect.${key}` });
  }
  const resolved: ResolvedAmqpOptions = {
    url: options.url,
    prefix: options.prefix ?? AMQP_DEFAULTS.prefix,
    heartbeatSeconds: int(options.heartbeatSeconds ?? AMQP_DEFAULTS.heartbeatSeconds, 'heartbeatSeconds', 0),
    connectTimeoutMs: int(options.connectTimeoutMs ?? AMQP_DEFAULTS.connectTimeoutMs, 'connectTimeoutMs', 1),
    publishTimeoutMs: int(options.publishTimeoutMs ?? AMQP_DEFAULTS.publishTimeoutMs, 'publishTimeoutMs', 1),
    reconnect: {
      initialDelayMs: int(reconnect.initialDelayMs ?? AMQP_DEFAULTS.reconnect.initialDelayMs, 'reconnect.initialDelayMs', 0),
      maxDelayMs: int(reconnect.maxDelayMs ?? AMQP_DEFAULTS.reconnect.maxDelayMs, 'reconnect.maxDelayMs', 1),
    },
    deliveryLimit: int(options.deliveryLimit ?? AMQP_DEFAULTS.deliveryLimit, 'deliveryLimit', 0),
    maxLength: int(options.maxLength ?? AMQP_DEFAULTS.maxLength, 'maxLength', 0),
    logger: options.logger ?? silentLogger,
  };
  if (typeof resolved.prefix !== 'string' || !PREFIX.test(resolved.prefix)) {
    throw new OptionsError('createAmqpQueue: prefix must be 1–100 letters, digits, ".", "_" or "-", not starting with "amq."', { option: 'prefix' });
  }
  return resolved;
}

function int(value: unknown, option: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new OptionsError(`createAmqpQueue: ${option} must be a whole number of at least ${min}`, { option });
  }
  return value;
}

/** A URL without its password and query (which may hold secrets); null when it does not parse. */
export function redactParsedUrl(url: string): string | null {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    u.search = '';
    return u.toString();
  } catch {
    return null;
  }
}

/** The URL for messages and logs: no password, no query. */
export function describeBroker(url: string): string {
  return redactParsedUrl(url) ?? 'RabbitMQ';
}
