/**
 * OpenMeter `POST /api/v1/events`: a CloudEvent (`application/cloudevents+json`) or an array of them
 * (`application/cloudevents-batch+json`; plain `application/json` takes either). Deduplicates by (source, id)
 * and answers 204 to new and duplicate events alike. An invalid event refuses the whole request with 400
 * `application/problem+json`, without saying which element it was.
 */
import { bearerOk, headerOf, isObject, parseJsonBody } from './types.js';
import type { EndpointContext, MockRequest, MockResponse } from './types.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const NO_CONTENT: MockResponse = { status: 204 };

function problem(status: number, title: string, detail: string): MockResponse {
  return {
    status,
    headers: { 'content-type': 'application/problem+json' },
    body: JSON.stringify({ type: 'about:blank', title, status, detail }),
  };
}

function invalid(event: unknown): string | undefined {
  if (!isObject(event)) return 'event must be an object';
  for (const field of ['id', 'source', 'specversion', 'type', 'subject']) {
    const v = event[field];
    if (typeof v !== 'string' || v === '') return `${field}: required, a non-empty string`;
  }
  const time = event.time;
  if (time !== undefined && time !== null && !(typeof time === 'string' && RFC3339.test(time) && !Number.isNaN(Date.parse(time)))) {
    return 'time: must be an RFC 3339 date-time';
  }
  if (event.data !== undefined && event.data !== null && !isObject(event.data)) return 'data: must be a JSON object';
  return undefined;
}

/** Which way the request is meant, from its content type: a single event, a batch, or either (plain JSON). */
export function openMeterContentType(headers: MockRequest['headers']): 'single' | 'batch' | 'json' | undefined {
  const ct = (headerOf(headers, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (ct === 'application/cloudevents+json') return 'single';
  if (ct === 'application/cloudevents-batch+json') return 'batch';
  if (ct === 'application/json') return 'json';
  return undefined;
}

export function handleOpenMeter(req: MockRequest, ctx: EndpointContext): MockResponse {
  if (!bearerOk(req.headers, ctx.apiKey)) return problem(401, 'Unauthorized', 'missing or invalid token');
  const kind = openMeterContentType(req.headers);
  if (kind === undefined) return problem(415, 'Unsupported Media Type', 'use application/cloudevents+json or application/cloudevents-batch+json');
  const parsed = parseJsonBody(req.body);
  if (!parsed.ok) return problem(400, 'Bad Request', `invalid JSON: ${parsed.message}`);
  const body = parsed.value;
  if (kind === 'batch' && !Array.isArray(body)) return problem(400, 'Bad Request', 'a batch must be a JSON array of CloudEvents');
  if (kind === 'single' && Array.isArray(body)) return problem(400, 'Bad Request', 'use application/cloudevents-batch+json for an array');
  const events: unknown[] = Array.isArray(body) ? body : [body];
  for (const event of events) {
    const why = invalid(event);
    if (why !== undefined) return problem(400, 'Bad Request', why);
  }
  for (const event of events as Record<string, string>[]) {
    const key = `${event.source}\u0000${event.id}`;
    if (ctx.log.has(key)) ctx.log.duplicates += 1;
    else ctx.log.add(key, event.id!, event);
  }
  return NO_CONTENT;
}
