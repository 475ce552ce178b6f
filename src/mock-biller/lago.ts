/**
 * Lago `POST /api/v1/events` and `POST /api/v1/events/batch`, answering like Lago does.
 *
 * Errors: 400 `{status, error: "BadRequest: ..."}` when `event`/`events` is missing; 422
 * `{status: 422, error: "Unprocessable Entity", code: "validation_errors", error_details}` where error_details is
 * `{field: [codes]}` for one event and `{"<index>": {field: [codes]}}` for a batch (which is refused as a whole).
 * A transaction_id already stored (per external_subscription_id) is `transaction_id: ["value_already_exist"]`.
 */
import { randomUUID } from 'node:crypto';
import { bearerOk, isObject, json, parseJsonBody } from './types.js';
import type { EndpointContext, MockRequest, MockResponse } from './types.js';

export const LAGO_BATCH_LIMIT = 100;

type Details = Record<string, string[]>;

function validate(event: Record<string, unknown>): Details {
  const errors: Details = {};
  const add = (field: string, code: string): void => {
    (errors[field] ??= []).push(code);
  };
  if (typeof event.transaction_id !== 'string' || event.transaction_id === '') add('transaction_id', 'value_is_mandatory');
  if (typeof event.code !== 'string' || event.code === '') add('code', 'value_is_mandatory');
  if (event.external_subscription_id !== undefined && typeof event.external_subscription_id !== 'string') add('external_subscription_id', 'invalid_value');
  const ts = event.timestamp;
  if (ts !== undefined && ts !== null && !(typeof ts === 'number' && Number.isFinite(ts)) && !(typeof ts === 'string' && /^\d+(\.\d+)?$/.test(ts))) {
    add('timestamp', 'invalid_format');
  }
  if (event.properties !== undefined && event.properties !== null) {
    if (!isObject(event.properties)) add('properties', 'invalid_format');
    else if (Object.values(event.properties).some((v) => !(typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))))) {
      add('properties', 'invalid_value');
    }
  }
  return errors;
}

const keyOf = (event: Record<string, unknown>): string => `${String(event.external_subscription_id ?? '')}\u0000${String(event.transaction_id)}`;

function stored(event: Record<string, unknown>, now: number): Record<string, unknown> {
  const ts = event.timestamp === undefined || event.timestamp === null ? now / 1000 : Number(event.timestamp);
  return {
    lago_id: randomUUID(),
    transaction_id: event.transaction_id,
    lago_customer_id: null,
    code: event.code,
    timestamp: new Date(ts * 1000).toISOString(),
    properties: event.properties ?? {},
    lago_subscription_id: null,
    external_subscription_id: event.external_subscription_id ?? null,
    created_at: new Date(now).toISOString(),
  };
}

const validationErrors = (details: unknown): MockResponse =>
  json(422, { status: 422, error: 'Unprocessable Entity', code: 'validation_errors', error_details: details });

/** Auth, JSON, and the top-level param: the answer to send, or the param's value. */
function preamble(req: MockRequest, ctx: EndpointContext, param: 'event' | 'events'): { response: MockResponse } | { value: unknown } {
  if (!bearerOk(req.headers, ctx.apiKey)) return { response: json(401, { status: 401, error: 'Unauthorized' }) };
  const parsed = parseJsonBody(req.body);
  if (!parsed.ok) return { response: json(400, { status: 400, error: `BadRequest: ${parsed.message}` }) };
  const value = isObject(parsed.value) ? parsed.value[param] : undefined;
  if (value === undefined || value === null) {
    return { response: json(400, { status: 400, error: `BadRequest: param is missing or the value is empty: ${param}` }) };
  }
  return { value };
}

export function handleLagoEvent(req: MockRequest, ctx: EndpointContext): MockResponse {
  const pre = preamble(req, ctx, 'event');
  if ('response' in pre) return pre.response;
  const event = pre.value;
  if (!isObject(event)) return validationErrors({ event: ['invalid_format'] });
  const details = validate(event);
  if (Object.keys(details).length === 0 && ctx.log.has(keyOf(event))) {
    ctx.log.duplicates += 1;
    details.transaction_id = ['value_already_exist'];
  }
  if (Object.keys(details).length > 0) return validationErrors(details);
  const out = stored(event, ctx.now);
  ctx.log.add(keyOf(event), out.lago_id as string, event);
  return json(200, { event: out });
}

export function handleLagoBatch(req: MockRequest, ctx: EndpointContext): MockResponse {
  const pre = preamble(req, ctx, 'events');
  if ('response' in pre) return pre.response;
  const events = pre.value;
  if (!Array.isArray(events)) return validationErrors({ events: ['invalid_format'] });
  if (events.length === 0) return validationErrors({ events: ['no_events'] });
  if (events.length > LAGO_BATCH_LIMIT) return validationErrors({ events: ['too_many_events'] });
  const details: Record<string, Details> = {};
  const seen = new Set<string>();
  events.forEach((event: unknown, index) => {
    if (!isObject(event)) {
      details[index] = { event: ['invalid_format'] };
      return;
    }
    const errors = validate(event);
    const key = keyOf(event);
    if (errors.transaction_id === undefined && (ctx.log.has(key) || seen.has(key))) {
      ctx.log.duplicates += 1;
      errors.transaction_id = ['value_already_exist'];
    }
    seen.add(key);
    if (Object.keys(errors).length > 0) details[index] = errors;
  });
  if (Object.keys(details).length > 0) return validationErrors(details);
  const out = events.map((event: Record<string, unknown>) => {
    const s = stored(event, ctx.now);
    ctx.log.add(keyOf(event), s.lago_id as string, event);
    return s;
  });
  return json(200, { events: out });
}
