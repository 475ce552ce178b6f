import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { RulesetError, ErrorCodes } from '../../errors.ts';
import type { Ruleset } from '../ruleset/types.ts';
import type { RejectionError } from '../../types.ts';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { parseUtcFastMemo } from '../time.ts';
import { compileFastCheck, type FastCheck } from './fast-check.ts';
import { schemaDocuments, schemaUri } from './resolve-ref.ts';

const addFormats = ((addFormatsImport as any).default ?? addFormatsImport) as (ajv: Ajv2020) => Ajv2020;

export const SCHEMA_VIOLATION = 'SCHEMA_VIOLATION';

export interface CompiledSchemas {
  byType: Record<string, ValidateFunction>;
  envelope: ValidateFunction | undefined;
  /** Per type, ajv's verdict as a plain predicate (see fast-check.ts); absent where ajv alone decides. */
  checks: Record<string, FastCheck | undefined>;
  /** Why a type has no predicate (ajv alone decides for it); the tests keep the shipped ruleset free of these. */
  slow: Record<string, string>;
}

/** The ajv every record schema is compiled with (exported for the tests that hold fast-check.ts to it). */
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictTuples: false, strictRequired: false, allowUnionTypes: true });
  addFormats(ajv);
  ajv.addFormat('date-time', { type: 'string', validate: dateTime, compare: (fullFormats['date-time'] as { compare: (a: string, b: string) => number | undefined }).compare });
  return ajv;
}

/**
 * Compiles every record schema once, with all errors reported (a rule author wants every problem, not the
 * first). Strict mode is on so a misspelt keyword ("minimun") fails the ruleset instead of passing silently.
 */
export function compileSchemas(ruleset: Ruleset): CompiledSchemas {
  const ajv = createAjv();
  const ids: Record<string, string> = {};
  for (const [path, schema] of Object.entries(ruleset.schemas)) {
    const id = schemaUri(path, schema);
    ids[path] = id;
    try {
      ajv.addSchema(schema.$id ? schema : { ...schema, $id: id });
    } catch (cause) {
      throw new RulesetError(ErrorCodes.SCHEMA_COMPILE, `${path}: ${(cause as Error).message}`, { cause, details: { file: path } });
    }
  }
  const get = (path: string): ValidateFunction => {
    try {
      const v = ajv.getSchema(ids[path]);
      if (!v) throw new Error('schema not found');
      return v;
    } catch (cause) {
      throw new RulesetError(ErrorCodes.SCHEMA_COMPILE, `${path}: ${(cause as Error).message}`, { cause, details: { file: path } });
    }
  };
  const byType: Record<string, ValidateFunction> = {};
  const checks: Record<string, FastCheck | undefined> = {};
  const slow: Record<string, string> = {};
  const docs = schemaDocuments(ruleset.schemas as Record<string, Record<string, unknown>>);
  for (const [type, def] of Object.entries(ruleset.types)) {
    byType[type] = get(def.schema);
    const fast = compileFastCheck(ids[def.schema], docs, ajv.formats as Record<string, never>);
    if (fast.check) checks[type] = fast.check;
    else slow[type] = fast.reason;
  }
  return { byType, envelope: ruleset.envelope ? get(ruleset.envelope) : undefined, checks, slow };
}

const fullDateTime = (fullFormats['date-time'] as { validate: (s: string) => boolean }).validate;
/**
 * ajv-formats' full date-time check, with a shortcut: a plain UTC time whose fields parse as valid
 * (2026-11-25T12:00:00Z, with or without fraction) is valid there too. Anything else gets the full check.
 */
function dateTime(s: string): boolean {
  const t = parseUtcFastMemo(s);
  return t === t || fullDateTime(s);
}

/** ajv's errors as rejection reasons: JSON pointer, keyword, what was expected and what the record had. */
export function schemaErrors(errors: ErrorObject[] | null | undefined, record: unknown): RejectionError[] {
  if (!errors) return [];
  const out: RejectionError[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    // oneOf/anyOf/if umbrellas repeat what their branches already said.
    if (e.keyword === 'if') continue;
    const p = e.params as Record<string, any>;
    let path = e.instancePath;
    let expected: unknown;
    let message = e.message ?? e.keyword;
    switch (e.keyword) {
      case 'required':
        path = `${path}/${escape(p.missingProperty)}`;
        message = 'is required';
        expected = 'present';
        break;
      case 'additionalProperties':
        path = `${path}/${escape(p.additionalProperty)}`;
        message = 'is not an allowed property';
        expected = 'absent';
        break;
      case 'enum':
        expected = p.allowedValues;
        message = `must be one of ${JSON.stringify(p.allowedValues)}`;
        break;
      case 'const':
        expected = p.allowedValue;
        message = `must be ${JSON.stringify(p.allowedValue)}`;
        break;
      case 'type':
        expected = p.type;
        break;
      case 'format':
        expected = p.format;
        break;
      case 'pattern':
        expected = p.pattern;
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
      case 'minLength':
      case 'maxLength':
      case 'minItems':
      case 'maxItems':
      case 'multipleOf':
        expected = `${p.comparison ?? ''} ${p.limit ?? p.multipleOf}`.trim();
        break;
      default:
        expected = undefined;
    }
    if (errors.length > 1) {
      const key = `${path}|${e.keyword}|${message}`;
      if (seen.has(key)) continue;
      seen.add(key);
    }
    const err: RejectionError = { code: SCHEMA_VIOLATION, message: `${path || '/'} ${message}`, path: path || '/', keyword: e.keyword };
    if (expected !== undefined) err.expected = expected;
    const actual = e.keyword === 'required' ? undefined : at(record, path);
    if (actual !== undefined) err.actual = truncate(actual);
    out.push(err);
  }
  return out;
}

function escape(s: string): string {
  s = String(s);
  return s.includes('~') || s.includes('/') ? s.replace(/~/g, '~0').replace(/\//g, '~1') : s;
}

function at(value: unknown, pointer: string): unknown {
  if (pointer === '') return value;
  let v: any = value;
  for (const raw of pointer.slice(1).split('/')) {
    const k = raw.includes('~') ? raw.replace(/~1/g, '/').replace(/~0/g, '~') : raw;
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k)) return undefined;
    v = v[k];
  }
  return v;
}

/** A rejection echoes what it saw, but never a megabyte of it. */
function truncate(v: unknown): unknown {
  if (typeof v === 'string') return v.length > 200 ? `${v.slice(0, 200)}…` : v;
  if (v !== null && typeof v === 'object') {
    const s = JSON.stringify(v);
    return s.length > 200 ? `${s.slice(0, 200)}…` : v;
  }
  return v;
}
