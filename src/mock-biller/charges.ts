/**
 * `POST /v1/charges`: the generic HTTP target. One JSON object, or an array of them.
 *
 * Dedupe key: the element's `idempotency_key` field (the default mapping sets it); for a single object without
 * one, the `Idempotency-Key` header. New: 201 `{id}`; already stored: 409 `{error: "duplicate", id}`. An array is
 * answered 200 `{results: [{status, id}]}`, one entry per element, each status as for a single object.
 */
import { bearerOk, headerOf, isObject, json, parseJsonBody } from './types.js';
import type { EndpointContext, EndpointLog, MockRequest, MockResponse } from './types.js';

let seq = 0;

function store(log: EndpointLog, item: unknown, key: string | undefined): { status: number; id: string; error?: string } {
  if (!isObject(item)) return { status: 400, id: '', error: 'not_an_object' };
  if (key !== undefined) {
    const id = log.idOf(key);
    if (id !== undefined) {
      log.duplicates += 1;
      return { status: 409, id, error: 'duplicate' };
    }
  }
  const id = `ch_${(++seq).toString(36)}`;
  log.add(key ?? id, id, item);
  return { status: 201, id };
}

function keyOf(item: unknown): string | undefined {
  return isObject(item) && typeof item.idempotency_key === 'string' && item.idempotency_key !== '' ? item.idempotency_key : undefined;
}

export function handleCharges(req: MockRequest, ctx: EndpointContext): MockResponse {
  if (!bearerOk(req.headers, ctx.apiKey)) return json(401, { error: 'unauthorized' });
  const parsed = parseJsonBody(req.body);
  if (!parsed.ok) return json(400, { error: 'invalid_json', message: parsed.message });
  const body = parsed.value;
  if (Array.isArray(body)) {
    if (body.length === 0) return json(400, { error: 'empty_batch' });
    const results = body.map((item) => {
      const r = store(ctx.log, item, keyOf(item));
      return r.error === undefined ? { status: r.status, id: r.id } : { status: r.status, id: r.id || undefined, error: r.error };
    });
    return json(200, { results });
  }
  const r = store(ctx.log, body, keyOf(body) ?? headerOf(req.headers, 'idempotency-key'));
  if (r.status === 201) return json(201, { id: r.id, status: 'created' });
  if (r.status === 409) return json(409, { error: 'duplicate', id: r.id });
  return json(400, { error: r.error });
}
