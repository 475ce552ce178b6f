/**
 * Turns a request body into records: one JSON value (a record, or an array of them), a CloudEvents
 * batch, or NDJSON. A body that cannot be read as a whole is a 400 with a code; in NDJSON a line that
 * cannot be read is one rejected item (MALFORMED, with its line number) and the other lines go on.
 */
import { isUtf8 } from 'node:buffer';
import { PipelineCodes } from '../../core/codes.ts';
import { ServerError, ServerErrorCodes as E } from '../errors.ts';
import { locateJsonError } from './json-error.ts';
import { inspectShape } from './inspect.ts';

export const MEDIA_TYPES = {
  json: 'application/json',
  cloudevent: 'application/cloudevents+json',
  cloudeventsBatch: 'application/cloudevents-batch+json',
  ndjson: 'application/x-ndjson',
} as const;
export const RECORD_MEDIA_TYPES: readonly string[] = Object.values(MEDIA_TYPES);

export interface BodyItem {
  /** The parsed record; undefined when `malformed` is set. */
  value: unknown;
  /** NDJSON line (1-based). */
  line?: number;
  /** Why an NDJSON line could not be read. */
  malformed?: string;
}

export interface ParsedRecords {
  /** False for one record sent on its own: it gets a single-record answer (202/200/409/422). */
  batch: boolean;
  items: BodyItem[];
}

export interface BodyLimits {
  maxDepth: number;
  maxBatch: number;
}

export function parseRecordsBody(body: Buffer, contentType: string, limits: BodyLimits): ParsedRecords {
  const mediaType = checkMediaType(contentType);
  const text = decode(body);
  if (mediaType === MEDIA_TYPES.ndjson) return parseNdjson(text, limits);
  const value = parseJson(text);
  if (mediaType === MEDIA_TYPES.cloudeventsBatch && !Array.isArray(value)) {
    throw new ServerError(E.REQUEST_INVALID, 400, `a ${MEDIA_TYPES.cloudeventsBatch} body must be a JSON array of events`);
  }
  if (!Array.isArray(value)) {
    const problem = inspectShape(value, limits.maxDepth);
    if (problem) throw shapeError(problem);
    return { batch: false, items: [{ value }] };
  }
  if (value.length === 0) throw new ServerError(E.EMPTY_BODY, 400, 'the batch holds no records');
  checkBatchSize(value.length, limits.maxBatch);
  const problem = inspectShape(value, limits.maxDepth + 1);
  if (problem) throw shapeError(problem);
  return { batch: true, items: value.map((v) => ({ value: v })) };
}

/**
 * A JSON body of a route that does not take records (admin routes): the same checks (UTF-8, syntax with
 * a position, depth, prototype keys), the value as is. An empty body is no body.
 */
export function parseJsonBody(body: Buffer, contentType: string, maxDepth: number): unknown {
  const mediaType = checkMediaType(contentType);
  if (mediaType !== MEDIA_TYPES.json) {
    throw new ServerError(E.UNSUPPORTED_MEDIA_TYPE, 415, `this route takes ${MEDIA_TYPES.json} bodies, not ${JSON.stringify(contentType)}`, { details: { contentType } });
  }
  if (body.length === 0) return undefined;
  const value = parseJson(decode(body));
  const problem = inspectShape(value, maxDepth);
  if (problem) throw shapeError(problem);
  return value;
}

/** The essence of a Content-Type; refuses a charset other than UTF-8 (JSON is UTF-8 by definition). */
export function checkMediaType(contentType: string): string {
  const [essence, ...params] = contentType.split(';');
  for (const p of params) {
    const [name, raw = ''] = p.split('=');
    if (name.trim().toLowerCase() !== 'charset') continue;
    const charset = raw.trim().replace(/^"|"$/g, '').toLowerCase();
    if (charset !== 'utf-8' && charset !== 'utf8') {
      throw new ServerError(E.UNSUPPORTED_MEDIA_TYPE, 415, `charset "${charset}" is not supported; send UTF-8`, { details: { contentType } });
    }
  }
  return essence.trim().toLowerCase();
}

function decode(body: Buffer): string {
  if (body.length === 0) throw new ServerError(E.EMPTY_BODY, 400, 'the body is empty; send a record, an array of records or NDJSON');
  if (!isUtf8(body)) throw new ServerError(E.INVALID_UTF8, 400, 'the body is not valid UTF-8');
  const text = body.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    const at = locateJsonError(text);
    throw new ServerError(E.MALFORMED_JSON, 400, `the body is not valid JSON: ${at.reason} at line ${at.line}, column ${at.column} (offset ${at.offset})`, {
      cause,
      details: { line: at.line, column: at.column, offset: at.offset },
    });
  }
}

function parseNdjson(text: string, limits: BodyLimits): ParsedRecords {
  const lines = text.split('\n');
  let count = 0;
  for (const l of lines) if (l.trim() !== '') count++;
  if (count === 0) throw new ServerError(E.EMPTY_BODY, 400, 'the NDJSON body holds no records');
  checkBatchSize(count, limits.maxBatch);
  const items: BodyItem[] = [];
  lines.forEach((raw, index) => {
    const line = index + 1;
    const l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (l.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(l);
    } catch {
      const at = locateJsonError(l);
      items.push({ value: undefined, line, malformed: `line ${line}, column ${at.column}: not valid JSON: ${at.reason}` });
      return;
    }
    const problem = inspectShape(value, limits.maxDepth);
    if (problem) items.push({ value: undefined, line, malformed: `line ${line}: ${problem.message}` });
    else items.push({ value, line });
  });
  return { batch: true, items };
}

function checkBatchSize(count: number, max: number): void {
  if (count > max) {
    throw new ServerError(E.BATCH_TOO_LARGE, 413, `the batch holds ${count} records; at most ${max} are taken per request`, { details: { count, maxBatch: max } });
  }
}

function shapeError(problem: ReturnType<typeof inspectShape> & object): ServerError {
  return problem.kind === 'depth'
    ? new ServerError(E.TOO_DEEP, 400, problem.message, { details: { path: problem.path } })
    : new ServerError(E.FORBIDDEN_KEY, 400, problem.message, { details: { path: problem.path } });
}

/** The rejection a malformed NDJSON line gets, in the pipeline's own words. */
export function malformedError(item: BodyItem) {
  return { code: PipelineCodes.MALFORMED, message: item.malformed ?? 'malformed' };
}
