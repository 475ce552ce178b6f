/**
 * OpenMeter ingest: CloudEvents to `POST /api/v1/events`.
 *
 * The mapping output is the CloudEvent OpenMeter stores (`subject` = the customer). One item is sent as
 * `application/cloudevents+json`, several as an array with `application/cloudevents-batch+json`. OpenMeter
 * deduplicates by (id, source) and answers 204 to a duplicate as to a new event, so every 2xx is delivered and
 * a duplicate cannot be told apart.
 *
 * Answers: 2xx delivered; 408, 429, 5xx, no answer: retry; another status on one event: permanent; on a
 * batch of several (OpenMeter does not say which event was bad): each item isolated and sent alone.
 */
import { OptionsError } from '../../errors.js';
import { bearer, byStatus, chunk, isNonEmptyString, isPlainObject, refuse, toJson } from './common.js';
import { checkHeaders, checkNumber, checkString, rejectUnknown, splitBaseUrl } from './options.js';
import type { BuildResult, CommonTargetOptions, ItemOutcome, OutboxItem, RefusedItem, TargetAdapter, TargetAnswer, TargetFailure, TargetRequest } from './types.js';

export interface OpenMeterTargetOptions extends CommonTargetOptions {
  /** Default `https://openmeter.cloud`; a self-hosted OpenMeter's URL otherwise. */
  apiUrl?: string;
  /** OpenMeter Cloud token, sent as `Authorization: Bearer <apiKey>`. Self-hosted OpenMeter needs none. */
  apiKey?: string;
  /** Send several events per request. Default true. */
  batch?: boolean;
  /** Default 100. */
  batchSize?: number;
}

const WHERE = 'openmeter target';
const KNOWN = ['name', 'headers', 'concurrency', 'timeoutMs', 'apiUrl', 'apiKey', 'batch', 'batchSize'] as const;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Why OpenMeter would refuse this CloudEvent, or undefined if it is fine. */
export function openMeterEventProblem(event: unknown): string | undefined {
  if (!isPlainObject(event)) return 'the mapping output is not an object';
  for (const field of ['id', 'source', 'specversion', 'type', 'subject'] as const) {
    if (!isNonEmptyString(event[field])) return `${field} must be a non-empty string`;
  }
  const time = event.time;
  if (time !== undefined && time !== null && !(typeof time === 'string' && RFC3339.test(time) && !Number.isNaN(Date.parse(time)))) {
    return 'time must be an RFC 3339 date-time';
  }
  if (event.data !== undefined && event.data !== null && !isPlainObject(event.data)) return 'data must be an object';
  const dct = event.datacontenttype;
  if (dct !== undefined && dct !== null && dct !== 'application/json') return 'datacontenttype must be application/json';
  if (event.dataschema !== undefined && event.dataschema !== null && !isNonEmptyString(event.dataschema)) return 'dataschema must be a URI';
  return undefined;
}

export function createOpenMeterTarget(options: OpenMeterTargetOptions = {}): TargetAdapter {
  rejectUnknown(options, KNOWN, WHERE);
  const { origin, prefix } = splitBaseUrl(options.apiUrl ?? 'https://openmeter.cloud', 'apiUrl', WHERE);
  const batch = options.batch ?? true;
  if (typeof batch !== 'boolean') throw new OptionsError(`${WHERE}: option "batch" must be a boolean`, { option: 'batch' });
  const batchSize = batch ? checkNumber(options.batchSize ?? 100, 'batchSize', WHERE, { min: 1, integer: true }) : 1;
  const base = checkHeaders(options.headers, WHERE);
  if (options.apiKey !== undefined) base.authorization = bearer(checkString(options.apiKey, 'apiKey', WHERE));
  const single = { ...base, 'content-type': 'application/cloudevents+json' };
  const many = { ...base, 'content-type': 'application/cloudevents-batch+json' };
  const path = `${prefix}/api/v1/events`;

  function buildRequests(items: OutboxItem[]): BuildResult {
    const refused: RefusedItem[] = [];
    const ok: { item: OutboxItem; json: string }[] = [];
    for (const item of items) {
      const problem = openMeterEventProblem(item.output);
      const json = problem === undefined ? (item.outputJson ?? toJson(item.output)) : undefined;
      if (json === undefined) refused.push(refuse(item, `not a valid OpenMeter CloudEvent: ${problem ?? 'not JSON-serialisable'}`));
      else ok.push({ item, json });
    }
    const requests: TargetRequest[] = chunk(ok, batchSize).map((group) =>
      group.length === 1
        ? { method: 'POST', origin, path, headers: single, body: group[0]!.json, items: [group[0]!.item] }
        : { method: 'POST', origin, path, headers: many, body: `[${group.map((g) => g.json).join(',')}]`, items: group.map((g) => g.item) },
    );
    return { requests, refused };
  }

  function classify(req: TargetRequest, answer: TargetAnswer | TargetFailure, now = Date.now()): ItemOutcome[] {
    return byStatus(req, answer, now);
  }

  return {
    name: options.name ?? 'openmeter',
    preset: 'openmeter',
    maxBatch: batchSize,
    concurrency: checkNumber(options.concurrency ?? 4, 'concurrency', WHERE, { min: 1, integer: true }),
    timeoutMs: checkNumber(options.timeoutMs ?? 10_000, 'timeoutMs', WHERE, { min: 1 }),
    buildRequests,
    classify,
  };
}
