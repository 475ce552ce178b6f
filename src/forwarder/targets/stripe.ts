/**
 * Stripe billing meter events: `POST /v1/billing/meter_events`, form-encoded, one event per request.
 *
 * The mapping output is `{event_name, identifier, timestamp, payload: {stripe_customer_id, value}}`; the adapter
 * form-encodes it (`payload[value]=...`), with numbers written as whole-number strings.
 * - `identifier` is Stripe's dedupe key. When the mapping leaves it out, the item's idempotency key is used (an
 *   event without one would be stored again on every retry). One longer than Stripe's 100 characters is replaced
 *   by `h_<base64url sha256>` of itself: still the same for every attempt, so retries still deduplicate.
 * - `timestamp` must lie between 35 days ago and 5 minutes ahead; an item outside that window is refused
 *   (permanent) without being sent.
 * - `idempotency-key` header = the item's key (hashed the same way beyond Stripe's 255 characters).
 * - `keyFor` = customer + event name: Stripe wants at most one call in flight per customer and meter.
 *
 * Answers: 2xx delivered (`idempotent-replayed: true` = duplicate); 400 "An event already exists with
 * identifier ..." delivered, duplicate; 409 (another request with this idempotency key is in flight) retry;
 * 408, 429, 5xx, no answer: retry; other 4xx: permanent.
 */
import { headerValue, outcomeOfAnswer, parseRetryAfter, truncateAnswer } from '../retry-policy.js';
import { bearer, byStatus, digest, isFailure, isNonEmptyString, isPlainObject, parseJson, refuse } from './common.js';
import { checkHeaders, checkNumber, checkString, rejectUnknown, splitBaseUrl } from './options.js';
import type { BuildResult, CommonTargetOptions, ItemOutcome, OutboxItem, RefusedItem, TargetAdapter, TargetAnswer, TargetFailure, TargetRequest } from './types.js';

export interface StripeTargetOptions extends CommonTargetOptions {
  /** Default `https://api.stripe.com`. */
  apiUrl?: string;
  /** Secret or restricted key (`sk_...`, `rk_...`), sent as `Authorization: Bearer <apiKey>`. */
  apiKey: string;
  /** Pins the API version (`Stripe-Version` header). Default: the account's. */
  stripeVersion?: string;
}

const WHERE = 'stripe target';
const KNOWN = ['name', 'headers', 'concurrency', 'timeoutMs', 'apiUrl', 'apiKey', 'stripeVersion'] as const;
export const STRIPE_MAX_PAST_S = 35 * 86_400;
export const STRIPE_MAX_FUTURE_S = 5 * 60;
const WHOLE = /^-?[0-9]+$/;
const ALREADY_EXISTS = /an event already exists with identifier/i;

/** The form fields of one meter event, in sending order, or why it cannot be sent. */
export function stripeFields(item: OutboxItem, nowMs: number): { fields: [string, string][] } | { problem: string } {
  const out = item.output;
  if (!isPlainObject(out)) return { problem: 'the mapping output is not an object' };
  if (!isNonEmptyString(out.event_name) || out.event_name.length > 100) return { problem: 'event_name must be a string of 1 to 100 characters' };
  const fields: [string, string][] = [['event_name', out.event_name]];

  const identifier = out.identifier ?? item.idempotencyKey;
  if (!isNonEmptyString(identifier)) return { problem: 'identifier must be a non-empty string' };
  fields.push(['identifier', identifier.length > 100 ? `h_${digest(identifier)}` : identifier]);

  if (out.timestamp !== undefined) {
    const ts = whole(out.timestamp);
    if (ts === undefined) return { problem: 'timestamp must be whole unix seconds' };
    const nowS = Math.floor(nowMs / 1000);
    if (Number(ts) < nowS - STRIPE_MAX_PAST_S) return { problem: `timestamp ${ts} is more than 35 days in the past; Stripe refuses it` };
    if (Number(ts) > nowS + STRIPE_MAX_FUTURE_S) return { problem: `timestamp ${ts} is more than 5 minutes in the future; Stripe refuses it` };
    fields.push(['timestamp', ts]);
  }

  const payload = out.payload;
  if (!isPlainObject(payload)) return { problem: 'payload must be an object' };
  if (!isNonEmptyString(payload.stripe_customer_id)) return { problem: 'payload.stripe_customer_id must be a non-empty string' };
  const value = whole(payload.value);
  if (value === undefined) return { problem: 'payload.value must be a whole number' };
  fields.push(['payload[stripe_customer_id]', payload.stripe_customer_id], ['payload[value]', value]);
  for (const [k, v] of Object.entries(payload)) {
    if (k === 'stripe_customer_id' || k === 'value') continue;
    if (typeof v === 'string') fields.push([`payload[${k}]`, v]);
    else if (typeof v === 'number' && Number.isFinite(v)) fields.push([`payload[${k}]`, String(v)]);
    else if (v !== undefined) return { problem: `payload.${k} must be a string` };
  }
  for (const k of Object.keys(out)) {
    if (!['event_name', 'identifier', 'timestamp', 'payload'].includes(k)) return { problem: `unknown field "${k}" (Stripe refuses unknown parameters)` };
  }
  return { fields };
}

/** A whole number as Stripe wants it: digits in a string. */
function whole(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value) : undefined;
  if (typeof value === 'string' && WHOLE.test(value)) return value;
  return undefined;
}

export function createStripeTarget(options: StripeTargetOptions): TargetAdapter {
  rejectUnknown(options, KNOWN, WHERE);
  const { origin, prefix } = splitBaseUrl(options.apiUrl ?? 'https://api.stripe.com', 'apiUrl', WHERE);
  const headers: Record<string, string> = {
    ...checkHeaders(options.headers, WHERE),
    'content-type': 'application/x-www-form-urlencoded',
    authorization: bearer(checkString(options.apiKey, 'apiKey', WHERE)),
  };
  if (options.stripeVersion !== undefined) headers['stripe-version'] = checkString(options.stripeVersion, 'stripeVersion', WHERE);
  const path = `${prefix}/v1/billing/meter_events`;

  function buildRequests(items: OutboxItem[], now = Date.now()): BuildResult {
    const refused: RefusedItem[] = [];
    const requests: TargetRequest[] = [];
    for (const item of items) {
      const built = stripeFields(item, now);
      if ('problem' in built) {
        refused.push(refuse(item, `not a valid Stripe meter event: ${built.problem}`));
        continue;
      }
      const key = item.idempotencyKey.length > 255 ? `h_${digest(item.idempotencyKey)}` : item.idempotencyKey;
      requests.push({
        method: 'POST',
        origin,
        path,
        headers: { ...headers, 'idempotency-key': key },
        body: new URLSearchParams(built.fields).toString(),
        items: [item],
      });
    }
    return { requests, refused };
  }

  function classify(req: TargetRequest, answer: TargetAnswer | TargetFailure, now = Date.now()): ItemOutcome[] {
    if (isFailure(answer)) return byStatus(req, answer, now);
    const body = parseJson(answer.body);
    if (answer.status >= 200 && answer.status < 300) {
      const id = isPlainObject(body) && typeof body.identifier === 'string' ? body.identifier : undefined;
      const replayed = headerValue(answer.headers, 'idempotent-replayed') === 'true';
      return [{ kind: 'delivered', status: answer.status, ...(id === undefined ? {} : { targetId: id }), ...(replayed ? { duplicate: true } : {}) }];
    }
    const error = isPlainObject(body) && isPlainObject(body.error) ? body.error : undefined;
    const message = error && typeof error.message === 'string' ? error.message : '';
    if (answer.status === 400 && ALREADY_EXISTS.test(message)) return [{ kind: 'delivered', status: 400, duplicate: true }];
    if (answer.status === 409) {
      const retryAfterMs = parseRetryAfter(answer.headers['retry-after'], now) ?? 1000;
      return [{ kind: 'retry', status: 409, retryAfterMs, reason: `Stripe: ${message || 'conflicting request in flight'}` }];
    }
    const outcome = outcomeOfAnswer(answer, now);
    if (outcome.kind === 'permanent') return [{ ...outcome, reason: `Stripe refused the event: HTTP ${answer.status} ${message}`.trim(), answer: truncateAnswer(answer.body) }];
    return [outcome];
  }

  function keyFor(item: OutboxItem): string {
    const out = item.output;
    if (isPlainObject(out) && isPlainObject(out.payload) && typeof out.payload.stripe_customer_id === 'string' && typeof out.event_name === 'string') {
      return `${out.payload.stripe_customer_id}\u0000${out.event_name}`;
    }
    return item.idempotencyKey;
  }

  return {
    name: options.name ?? 'stripe',
    preset: 'stripe',
    maxBatch: 1,
    concurrency: checkNumber(options.concurrency ?? 8, 'concurrency', WHERE, { min: 1, integer: true }),
    timeoutMs: checkNumber(options.timeoutMs ?? 20_000, 'timeoutMs', WHERE, { min: 1 }),
    buildRequests,
    classify,
    keyFor,
  };
}
