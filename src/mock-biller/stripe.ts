/**
 * Stripe `POST /v1/billing/meter_events`, form-encoded, answering like Stripe does.
 *
 * - `Idempotency-Key`: the same key with the same body replays the first success (header
 *   `Idempotent-Replayed: true`); with another body it is a 400 `idempotency_error`.
 * - `identifier` is unique: a second event with it is a 400 "An event already exists with identifier <id>."
 * - `timestamp` must lie between 35 days ago and 5 minutes ahead; `payload[value]` must be a whole number.
 * Errors are `{error: {type, code?, param?, message}}`.
 */
import { bearerOk, headerOf, json } from './types.js';
import type { EndpointContext, MockRequest, MockResponse } from './types.js';

const PAST_S = 35 * 86_400;
const FUTURE_S = 300;
const TOP = new Set(['event_name', 'identifier', 'timestamp']);

interface Replay {
  body: string;
  response: MockResponse;
}

function invalid(message: string, extra: { code?: string; param?: string } = {}): MockResponse {
  return json(400, { error: { type: 'invalid_request_error', ...extra, message } });
}

/** The decoded event: `payload[x]` fields become `payload.x`. */
export function decodeMeterEventForm(body: string): { event: Record<string, unknown>; unknown: string[] } {
  const event: Record<string, unknown> = {};
  const payload: Record<string, string> = {};
  const unknown: string[] = [];
  for (const [k, v] of new URLSearchParams(body)) {
    const m = /^payload\[([^\]]+)\]$/.exec(k);
    if (m) payload[m[1]!] = v;
    else if (TOP.has(k)) event[k] = v;
    else unknown.push(k);
  }
  if (Object.keys(payload).length > 0) event.payload = payload;
  return { event, unknown };
}

export function createStripeHandler(): { handle(req: MockRequest, ctx: EndpointContext): MockResponse; reset(): void } {
  const replays = new Map<string, Replay>();
  let seq = 0;

  function handle(req: MockRequest, ctx: EndpointContext): MockResponse {
    if (!bearerOk(req.headers, ctx.apiKey)) {
      return json(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided.' } });
    }
    const key = headerOf(req.headers, 'idempotency-key');
    if (key !== undefined) {
      const seen = replays.get(key);
      if (seen !== undefined) {
        if (seen.body !== req.body) {
          return json(400, {
            error: {
              type: 'idempotency_error',
              message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
            },
          });
        }
        ctx.log.duplicates += 1;
        return { ...seen.response, headers: { ...seen.response.headers, 'idempotent-replayed': 'true' } };
      }
    }
    const { event, unknown } = decodeMeterEventForm(req.body);
    if (unknown.length > 0) return invalid(`Received unknown parameter: ${unknown[0]}`, { param: unknown[0]! });
    const payload = (event.payload ?? {}) as Record<string, string>;
    if (event.event_name === undefined || event.event_name === '') {
      return invalid('Missing required param: event_name.', { code: 'parameter_missing', param: 'event_name' });
    }
    if (payload.stripe_customer_id === undefined || payload.stripe_customer_id === '') {
      return invalid('Missing required param: payload[stripe_customer_id].', { code: 'parameter_missing', param: 'payload[stripe_customer_id]' });
    }
    if (payload.value === undefined) return invalid('Missing required param: payload[value].', { code: 'parameter_missing', param: 'payload[value]' });
    if (!/^-?\d+$/.test(payload.value)) return invalid('The value for payload[value] must be a whole number.', { param: 'payload[value]' });
    const nowS = Math.floor(ctx.now / 1000);
    let timestamp = nowS;
    if (event.timestamp !== undefined) {
      if (!/^\d+$/.test(event.timestamp as string)) {
        return invalid('Invalid integer: timestamp', { code: 'parameter_invalid_integer', param: 'timestamp' });
      }
      timestamp = Number(event.timestamp);
      if (timestamp < nowS - PAST_S || timestamp > nowS + FUTURE_S) {
        return invalid('Timestamp must be within the past 35 days and no more than 5 minutes in the future.', { param: 'timestamp' });
      }
    }
    let identifier = event.identifier as string | undefined;
    if (identifier !== undefined && (identifier === '' || identifier.length > 100)) {
      return invalid('identifier must be between 1 and 100 characters.', { param: 'identifier' });
    }
    identifier ??= `mev_${(++seq).toString(36)}`;
    if (ctx.log.has(identifier)) {
      ctx.log.duplicates += 1;
      return invalid(`An event already exists with identifier ${identifier}.`);
    }
    const stored = { event_name: event.event_name, identifier, timestamp, payload };
    ctx.log.add(identifier, identifier, { ...event, identifier });
    const response = json(200, { object: 'billing.meter_event', created: nowS, livemode: false, ...stored });
    if (key !== undefined) replays.set(key, { body: req.body, response });
    return response;
  }

  return { handle, reset: () => replays.clear() };
}
