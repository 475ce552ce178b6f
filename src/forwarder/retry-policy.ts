/**
 * The one place that tells retryable from permanent and says when to try again.
 *
 * - Status: 2xx delivered; 408, 429 and 5xx retry; every other status (3xx, 4xx) is permanent. A preset reads
 *   its target's own "already delivered" answers before falling back to this.
 * - No answer at all (connection refused or reset, timeout): retry.
 * - Next attempt: exponential backoff with full jitter, `random() * min(maxDelayMs, baseDelayMs * 2^(attempt-1))`,
 *   never earlier than the target's Retry-After, and never after `firstAttemptAt + maxAgeMs`.
 *
 * The forwarder persists `at` in the outbox instead of sleeping. `sendWithRetry` (p-retry) is only for quick
 * in-process retries of connection errors around one send; undici's own RetryAgent is not used under it, so the
 * two never multiply.
 */
import pRetry, { AbortError } from 'p-retry';
import type { ItemOutcome, PermanentOutcome, RetryOutcome, TargetAnswer } from './targets/types.js';
import { checkNumber, rejectUnknown } from './targets/options.js';

export { AbortError };

export type StatusClass = 'delivered' | 'retry' | 'permanent';

export function classifyStatus(status: number): StatusClass {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'permanent';
}

/** Retry-After in ms from `now`: delta-seconds or an HTTP-date. Undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Keeps dead-letter rows small: the answer as the target sent it, cut at `max` characters. */
export function truncateAnswer(body: string, max = 2000): string {
  return body.length <= max ? body : `${body.slice(0, max)}…`;
}

export function headerValue(headers: TargetAnswer['headers'], name: string): string | undefined {
  const v = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** The outcome of an answer from its status alone (a preset's special answers are read before this). */
export function outcomeOfAnswer(answer: TargetAnswer, now: number): ItemOutcome {
  const cls = classifyStatus(answer.status);
  if (cls === 'delivered') return { kind: 'delivered', status: answer.status };
  if (cls === 'retry') {
    const retryAfterMs = parseRetryAfter(answer.headers['retry-after'], now);
    return {
      kind: 'retry',
      status: answer.status,
      reason: `HTTP ${answer.status}`,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  }
  return { kind: 'permanent', status: answer.status, reason: `HTTP ${answer.status}`, answer: truncateAnswer(answer.body) };
}

/** A send that got no answer is always retried: the target may or may not have it, and the idempotency key settles that. */
export function outcomeOfError(error: Error): RetryOutcome {
  const code = errorCode(error);
  return { kind: 'retry', reason: `no answer: ${code ?? error.name}: ${error.message}` };
}

function errorCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | null;
  if (e && typeof e.code === 'string') return e.code;
  if (e && e.cause && typeof e.cause.code === 'string') return e.cause.code;
  return undefined;
}

/** Connection-level failures worth one quick retry in-process. Timeouts are not: they already took their time. */
const CONNECTION_ERRORS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

export function isConnectionError(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && CONNECTION_ERRORS.has(code);
}

export interface RetryLimits {
  /** Most sends of one item, the first included. */
  attempts: number;
  /** After this long since the first attempt the item is dead, whatever the attempt count. */
  maxAgeMs: number;
  /** Cap of the backoff (a longer Retry-After is still honoured, within maxAgeMs). */
  maxDelayMs: number;
  /** Backoff of the first retry before jitter. */
  baseDelayMs: number;
}

export const defaultRetryLimits: Readonly<RetryLimits> = Object.freeze({
  attempts: 25,
  maxAgeMs: 72 * 3600_000,
  maxDelayMs: 3600_000,
  baseDelayMs: 1000,
});

export interface DecideInput {
  /** The attempt that just failed, 1-based. */
  attempt: number;
  /** Epoch ms of the item's first send. */
  firstAttemptAt: number;
  now: number;
  outcome: RetryOutcome | PermanentOutcome;
}

export type Decision = { action: 'retry'; at: number } | { action: 'dead'; reason: string };

export interface RetryPolicy {
  readonly limits: Readonly<RetryLimits>;
  decide(input: DecideInput): Decision;
  /** The jittered backoff after `attempt` failed, before Retry-After and max age. */
  backoff(attempt: number): number;
}

export interface RetryPolicyOptions extends Partial<RetryLimits> {
  /** [0, 1). Injected so tests are deterministic. */
  random?: () => number;
}

const WHERE = 'createRetryPolicy';

export function createRetryPolicy(options: RetryPolicyOptions = {}): RetryPolicy {
  rejectUnknown(options, ['attempts', 'maxAgeMs', 'maxDelayMs', 'baseDelayMs', 'random'], WHERE);
  const limits: RetryLimits = Object.freeze({
    attempts: checkNumber(options.attempts ?? defaultRetryLimits.attempts, 'attempts', WHERE, { min: 1, integer: true }),
    maxAgeMs: checkNumber(options.maxAgeMs ?? defaultRetryLimits.maxAgeMs, 'maxAgeMs', WHERE, { allowInfinity: true }),
    maxDelayMs: checkNumber(options.maxDelayMs ?? defaultRetryLimits.maxDelayMs, 'maxDelayMs', WHERE),
    baseDelayMs: checkNumber(options.baseDelayMs ?? defaultRetryLimits.baseDelayMs, 'baseDelayMs', WHERE),
  });
  const random = options.random ?? Math.random;

  function backoff(attempt: number): number {
    // 2^1023 is the largest finite power; beyond ~40 the cap wins anyway.
    const ceiling = Math.min(limits.maxDelayMs, limits.baseDelayMs * 2 ** Math.min(Math.max(attempt - 1, 0), 1000));
    return Math.floor(random() * ceiling);
  }

  function decide({ attempt, firstAttemptAt, now, outcome }: DecideInput): Decision {
    if (outcome.kind === 'permanent') return { action: 'dead', reason: outcome.reason };
    const deadline = firstAttemptAt + limits.maxAgeMs;
    if (now >= deadline) {
      return { action: 'dead', reason: `gave up after ${limits.maxAgeMs} ms since the first attempt: ${outcome.reason}` };
    }
    const floor = outcome.retryAfterMs ?? 0;
    if (outcome.collateral) {
      // Not this item's failure: no backoff and no attempt counted; it must still finish within max age.
      return now + floor > deadline ? deadAfterRetryAfter(outcome) : { action: 'retry', at: now + floor };
    }
    if (attempt >= limits.attempts) {
      return { action: 'dead', reason: `gave up after ${attempt} attempts: ${outcome.reason}` };
    }
    if (now + floor > deadline) return deadAfterRetryAfter(outcome);
    // An item to be sent alone next time goes again at once, but the attempt counts: a forwarder that
    // failed to isolate it still reaches the attempt limit instead of looping.
    const at = now + (outcome.isolate ? floor : Math.max(backoff(attempt), floor));
    // One last try at the deadline rather than none.
    return { action: 'retry', at: Math.min(at, deadline) };
  }

  function deadAfterRetryAfter(outcome: RetryOutcome): Decision {
    return {
      action: 'dead',
      reason: `the target asked to wait ${outcome.retryAfterMs} ms, past the ${limits.maxAgeMs} ms limit: ${outcome.reason}`,
    };
  }

  return { limits, decide, backoff };
}

export interface SendWithRetryOptions {
  /** Quick retries after the first try. Default 2. */
  retries?: number;
  /** First delay, ms (then doubled, randomised ×1–2). Default 50. */
  minTimeoutMs?: number;
  /** Longest delay, ms. Default 1000. */
  maxTimeoutMs?: number;
  /** Give up after this long in total, ms. Default 5000. */
  maxRetryTimeMs?: number;
  signal?: AbortSignal;
  /** Which errors are worth a quick retry. Default: connection errors (`isConnectionError`). */
  isRetryable?: (error: Error) => boolean;
  /** Called before each quick retry. */
  onRetry?: (info: { error: Error; attempt: number; retriesLeft: number }) => void;
}

/**
 * Runs one send with a few quick in-process retries of connection errors (p-retry). Throw `AbortError` from
 * `fn` to stop at once; any other error that `isRetryable` rejects stops too. The last error is rethrown as is,
 * for `adapter.classify(req, { error })`. Answers (even 5xx) are not retried here: they go back to the outbox.
 */
export function sendWithRetry<T>(fn: (attempt: number) => Promise<T>, options: SendWithRetryOptions = {}): Promise<T> {
  const where = 'sendWithRetry';
  rejectUnknown(options, ['retries', 'minTimeoutMs', 'maxTimeoutMs', 'maxRetryTimeMs', 'signal', 'isRetryable', 'onRetry'], where);
  const isRetryable = options.isRetryable ?? isConnectionError;
  return pRetry(fn, {
    retries: checkNumber(options.retries ?? 2, 'retries', where, { integer: true }),
    minTimeout: checkNumber(options.minTimeoutMs ?? 50, 'minTimeoutMs', where),
    maxTimeout: checkNumber(options.maxTimeoutMs ?? 1000, 'maxTimeoutMs', where),
    maxRetryTime: checkNumber(options.maxRetryTimeMs ?? 5000, 'maxRetryTimeMs', where, { allowInfinity: true }),
    factor: 2,
    randomize: true,
    ...(options.signal ? { signal: options.signal } : {}),
    shouldRetry: ({ error, attemptNumber, retriesLeft }) => {
      if (!isRetryable(error)) return false;
      options.onRetry?.({ error, attempt: attemptNumber, retriesLeft });
      return true;
    },
  });
}
