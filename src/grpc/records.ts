/**
 * From messages to records and from results to messages. A UsageRecord message becomes the structured
 * JSON form of its CloudEvent — exactly what the HTTP API receives — so the pipeline, the identity and the
 * content hash (duplicate or conflict) are the same whichever protocol a record came by. Empty strings
 * are absent attributes (proto3 cannot tell them apart); the ruleset decides what is required.
 */
import { locateJsonError } from '../server/body/json-error.ts';
import { inspectShape } from '../server/body/inspect.ts';
import type { BodyItem } from '../server/body/parse-records.ts';
import type { ItemResult, ItemStatus } from '../server/ingest.ts';
import { ServerErrorCodes } from '../server/errors.ts';
import type { RejectionError } from '../types.ts';
import { GrpcError, GrpcErrorCodes as E, GrpcStatus } from './errors.ts';
import { RecordStatus } from './messages.ts';
import type { RecordResultMessage, RecordStatusName, RejectionReasonMessage, StatusCountsMessage, UsageRecordMessage } from './messages.ts';

/** The typed envelope attributes, in the order the built record has them. */
export const ATTRIBUTES = ['specversion', 'id', 'source', 'type', 'time', 'subject', 'datacontenttype', 'dataschema'] as const;
const RESERVED = new Set<string>([...ATTRIBUTES, 'data', 'data_base64']);
/** CloudEvents attribute names: lower-case ASCII letters and digits. */
const ATTRIBUTE_NAME = /^[a-z0-9]+$/;

/** Where a record sits in its call, for messages: `records[3]` in a batch, `record` in a stream message. */
export interface Place {
  label: string;
  index: number;
}

export type ReadRecord = { ok: true; record: Record<string, unknown> } | { ok: false; envelope: Record<string, unknown> | undefined; error: GrpcError };

/** The record a message stands for, or the reason it cannot be one (with the envelope, for the answer's source and id). */
export function readRecord(message: UsageRecordMessage | null | undefined, place: Place, maxDepth: number): ReadRecord {
  if (message === null || message === undefined || typeof message !== 'object') {
    return { ok: false, envelope: undefined, error: bad(E.BAD_RECORD, `${place.label} is missing: a SubmitStreamRequest must carry a record`, place, 'record') };
  }
  const record: Record<string, unknown> = {};
  for (const name of ATTRIBUTES) {
    const v = message[name];
    if (typeof v === 'string' && v !== '') record[name] = v;
  }
  const envelope = { ...record };

  const extensions = message.extensions_json;
  if (typeof extensions === 'string' && extensions.trim() !== '') {
    const parsed = parseJson(extensions, place, 'extensions_json');
    if (!parsed.ok) return { ok: false, envelope, error: parsed.error };
    const value = parsed.value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { ok: false, envelope, error: bad(E.BAD_RECORD, `${place.label}.extensions_json must be a JSON object of extension attributes, not ${kind(value)}`, place, 'extensions_json') };
    }
    for (const [name, v] of Object.entries(value)) {
      if (!ATTRIBUTE_NAME.test(name)) {
        return { ok: false, envelope, error: bad(E.BAD_RECORD, `${place.label}.extensions_json: ${JSON.stringify(name)} is not a CloudEvents attribute name (lower-case letters and digits only)`, place, 'extensions_json', { attribute: name }) };
      }
      if (RESERVED.has(name)) {
        return { ok: false, envelope, error: bad(E.BAD_RECORD, `${place.label}.extensions_json: "${name}" is not an extension; ${name === 'data' || name === 'data_base64' ? 'send data as data_json' : `set the field ${name} instead`}`, place, 'extensions_json', { attribute: name }) };
      }
      const problem = inspectShape(v, maxDepth - 1);
      if (problem) return { ok: false, envelope, error: shapeError(problem, place, 'extensions_json', `/${name}`, maxDepth) };
      record[name] = v;
    }
  }

  const data = message.data_json;
  if (typeof data === 'string' && data.trim() !== '') {
    const parsed = parseJson(data, place, 'data_json');
    if (!parsed.ok) return { ok: false, envelope, error: parsed.error };
    const problem = inspectShape(parsed.value, maxDepth - 1);
    if (problem) return { ok: false, envelope, error: shapeError(problem, place, 'data_json', '/data', maxDepth) };
    record.data = parsed.value;
  }
  return { ok: true, record };
}

/** Batch calls: every record or an INVALID_ARGUMENT naming the first one that cannot be read. */
export function readBatch(messages: readonly UsageRecordMessage[], maxDepth: number): BodyItem[] {
  const items: BodyItem[] = new Array(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const read = readRecord(messages[i], { label: `records[${i}]`, index: i }, maxDepth);
    if (!read.ok) throw read.error;
    items[i] = { value: read.record };
  }
  return items;
}

/**
 * Streams: a record that cannot be read is one rejected answer (MALFORMED, as a bad NDJSON line over
 * HTTP), and the stream goes on. Its envelope stays the item's value, so the answer names its source
 * and id and the rejection is logged under them; the pipeline never runs on it.
 */
export function readStreamItem(message: UsageRecordMessage | null | undefined, sequence: number, maxDepth: number): BodyItem {
  const read = readRecord(message, { label: 'record', index: sequence }, maxDepth);
  if (read.ok) return { value: read.record };
  return { value: read.envelope, malformed: read.error.message };
}

function parseJson(text: string, place: Place, field: string): { ok: true; value: unknown } | { ok: false; error: GrpcError } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (cause) {
    const at = locateJsonError(text);
    return {
      ok: false,
      error: new GrpcError(E.MALFORMED_JSON, GrpcStatus.INVALID_ARGUMENT, `${place.label}.${field} is not valid JSON: ${at.reason} at line ${at.line}, column ${at.column} (offset ${at.offset})`, {
        cause,
        details: { record: place.index, field, line: at.line, column: at.column, offset: at.offset },
      }),
    };
  }
}

function shapeError(problem: NonNullable<ReturnType<typeof inspectShape>>, place: Place, field: string, prefix: string, maxDepth: number): GrpcError {
  const path = prefix + (problem.path === '/' ? '' : problem.path);
  return problem.kind === 'depth'
    ? new GrpcError(ServerErrorCodes.TOO_DEEP, GrpcStatus.INVALID_ARGUMENT, `${place.label}.${field} nests objects and arrays deeper than a record may (${maxDepth} levels), at ${path}`, {
        details: { record: place.index, field, path, maxDepth },
      })
    : new GrpcError(ServerErrorCodes.FORBIDDEN_KEY, GrpcStatus.INVALID_ARGUMENT, `${place.label}.${field}: ${problem.message.replace(/ \(at .*\)$/, '')}, at ${path}`, {
        details: { record: place.index, field, path },
      });
}

function bad(code: typeof E.BAD_RECORD, message: string, place: Place, field: string, more: Record<string, unknown> = {}): GrpcError {
  return new GrpcError(code, GrpcStatus.INVALID_ARGUMENT, message, { details: { record: place.index, field, ...more } });
}

function kind(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

const STATUS: Record<ItemStatus, RecordStatusName> = {
  accepted: RecordStatus.ACCEPTED,
  skipped: RecordStatus.SKIPPED,
  duplicate: RecordStatus.DUPLICATE,
  conflict: RecordStatus.CONFLICT,
  rejected: RecordStatus.REJECTED,
};

export function statusName(status: string): RecordStatusName {
  return STATUS[status as ItemStatus] ?? RecordStatus.UNSPECIFIED;
}

/** JSON text of a value, or '' when there is none (undefined is "not known", null is a value). */
function json(value: unknown): string {
  return value === undefined ? '' : (JSON.stringify(value) ?? '');
}

export function reasonMessage(e: RejectionError): Partial<RejectionReasonMessage> {
  const m: Partial<RejectionReasonMessage> = { code: e.code, message: e.message };
  if (e.path !== undefined) m.path = e.path;
  if (e.keyword !== undefined) m.keyword = e.keyword;
  if (e.rule !== undefined) m.rule = e.rule;
  if (e.expected !== undefined) m.expected_json = json(e.expected);
  if (e.actual !== undefined) m.actual_json = json(e.actual);
  if (e.condition !== undefined) m.condition_json = json(e.condition);
  return m;
}

/**
 * One result as a message. `outputs` (Transform) is kept only for the targets asked for; Validate and
 * Submit never carry it.
 */
export function resultMessage(r: ItemResult, index: number, outputs?: { targets: readonly string[] | undefined }): Partial<RecordResultMessage> {
  const m: Partial<RecordResultMessage> = { index, status: statusName(r.status) };
  if (r.source !== undefined) m.source = r.source;
  if (r.id !== undefined) m.id = r.id;
  if (r.code !== undefined) m.code = r.code;
  if (r.message !== undefined) m.message = r.message;
  if (r.errors) m.errors = r.errors.map(reasonMessage) as RejectionReasonMessage[];
  if (r.existing) m.existing = { verdict: statusName(r.existing.verdict), received_at: r.existing.receivedAt };
  if (outputs && r.outputs) {
    const out: Record<string, string> = {};
    for (const [target, value] of Object.entries(r.outputs)) {
      if (outputs.targets === undefined || outputs.targets.includes(target)) out[target] = JSON.stringify(value) ?? 'null';
    }
    m.outputs_json = out;
  }
  return m;
}

export function countStatuses(results: readonly ItemResult[]): StatusCountsMessage {
  const counts = { accepted: 0, skipped: 0, duplicate: 0, conflict: 0, rejected: 0 };
  for (const r of results) counts[r.status] += 1;
  return counts;
}
