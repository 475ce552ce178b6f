/**
 * A record schema compiled a second time, into a plain predicate: does ajv accept this value? It answers
 * only yes or no, so it carries none of ajv's error bookkeeping (with `allErrors`, ajv builds no error
 * objects for a valid record, but it still reads every property two or three times, tracks evaluated
 * properties for `$ref`, and counts the Unicode length of every string twice).
 *
 * It is trusted only when it says "valid". When it says "invalid", the pipeline runs ajv itself, which
 * gives the errors, and ajv's answer wins; so a record can never be rejected by this code alone, and a
 * differential test (test/core/fast-check.test.ts) holds it to ajv's verdict on the corpus and on every
 * keyword's edge cases.
 *
 * It understands the keywords record schemas are made of (type, const and enum of plain values, the
 * string, number, object and array bounds, pattern, format, properties, required, additionalProperties,
 * items, $ref between the ruleset's files and into $defs, allOf/anyOf/oneOf/not/if-then-else). A schema
 * with any other keyword gets no predicate, and ajv alone decides, as before.
 */
import ucs2lengthImport from 'ajv/dist/runtime/ucs2length.js';
import { resolveRef, type RefResolution } from './resolve-ref.ts';

type Schema = Record<string, unknown> | boolean;
export type FastCheck = (value: unknown) => boolean;

const ucs2length = ((ucs2lengthImport as unknown as { default?: (s: string) => number }).default ?? ucs2lengthImport) as (s: string) => number;

/** A format as ajv holds it: a function, a RegExp, or { type, validate, async }. */
type FormatDef = ((s: string) => boolean) | RegExp | { type?: string; validate: ((s: string) => boolean) | RegExp; async?: boolean };

class Unsupported extends Error {}
function no(why: string): never {
  throw new Unsupported(why);
}

const ANNOTATIONS = new Set(['$schema', '$id', '$comment', 'title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', '$defs', 'definitions']);
const KEYWORDS = new Set([
  'type', 'const', 'enum', '$ref',
  'minLength', 'maxLength', 'pattern', 'format',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
  'properties', 'required', 'additionalProperties', 'minProperties', 'maxProperties',
  'items', 'minItems', 'maxItems',
  'allOf', 'anyOf', 'oneOf', 'not', 'if', 'then', 'else',
]);

const REF_FAILURE: Record<Extract<RefResolution, { ok: false }>['why'], (ref: string) => string> = {
  'not-uri': (ref) => `$ref "${ref}" is not a URI`,
  'no-doc': (ref) => `$ref "${ref}" outside the ruleset`,
  anchor: (ref) => `$ref "${ref}" to an anchor`,
  nowhere: (ref) => `$ref "${ref}" points nowhere`,
};

const isPlain = (v: unknown): v is string | number | boolean | null => v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

interface Located {
  schema: Schema;
  base: string;
  doc: Schema;
}

/**
 * Compiles the schema with id `rootId` (one of `docs`, keyed by absolute $id) into a predicate, or answers
 * undefined with the reason when it holds something this compiler leaves to ajv.
 */
export function compileFastCheck(
  rootId: string,
  docs: ReadonlyMap<string, Schema>,
  formats: Readonly<Record<string, FormatDef | undefined>>,
): { check: FastCheck; reason?: undefined } | { check?: undefined; reason: string } {
  const root = docs.get(rootId);
  if (root === undefined) return { reason: `schema ${rootId} not found` };
  const gen = new Gen(docs, formats);
  try {
    const body = gen.fn({ schema: root, base: rootId, doc: root });
    const src = `"use strict";\n${gen.decls.join('\n')}\nreturn ${body};`;
    const check = new Function('ucs2length', 'consts', src)(ucs2length, gen.consts) as FastCheck;
    return { check };
  } catch (e) {
    if (e instanceof Unsupported) return { reason: e.message };
    throw e;
  }
}

class Gen {
  decls: string[] = [];
  consts: unknown[] = [];
  private vars = 0;
  private fns = 0;

  constructor(
    private readonly docs: ReadonlyMap<string, Schema>,
    private readonly formats: Readonly<Record<string, FormatDef | undefined>>,
  ) {}

  private constant(v: unknown): string {
    this.consts.push(v);
    return `consts[${this.consts.length - 1}]`;
  }

  /** A named function `(v) => boolean` for a subschema; returns its name. */
  fn(at: Located): string {
    const name = `f${this.fns++}`;
    const lines: string[] = [];
    this.emit([at], 'v', lines, 0);
    this.decls.push(`function ${name}(v) {\n${lines.join('\n')}\nreturn true;\n}`);
    return name;
  }

  private v(): string {
    return `d${this.vars++}`;
  }

  /**
   * The schemas that all apply to one value: the schema, what its $ref points to and its allOf members,
   * recursively. Their keywords are emitted together, so each property is read once however many of
   * them mention it.
   */
  private expand(at: Located, into: Located[], depth: number): boolean {
    if (depth > 32) no('$ref or allOf nested more than 32 deep');
    const s = at.schema;
    if (s === true) return true;
    if (s === false) return false;
    if (s === null || typeof s !== 'object' || Array.isArray(s)) no('a schema must be an object or a boolean');
    for (const k of Object.keys(s)) if (!KEYWORDS.has(k) && !ANNOTATIONS.has(k)) no(`keyword "${k}"`);
    if (typeof s.$id === 'string' && s !== at.doc) no('$id inside a schema');
    into.push(at);
    if (s.$ref !== undefined && !this.expand(this.ref(at, s.$ref), into, depth + 1)) return false;
    if (s.allOf !== undefined) for (const sub of list(s.allOf, 'allOf')) if (!this.expand({ ...at, schema: sub }, into, depth + 1)) return false;
    return true;
  }

  /** Emits statements that `return false` when `x` fails any of `ats`. */
  private emit(ats: Located[], x: string, out: string[], depth: number): void {
    if (depth > 64) no('schemas nested more than 64 deep (recursive?)');
    const all: Located[] = [];
    for (const at of ats) {
      if (!this.expand(at, all, 0)) {
        out.push('return false;');
        return;
      }
    }
    const schemas = all.map((a) => a.schema as Record<string, unknown>);
    // When one schema pins the type, the later type-specific blocks need no guard of their own.
    let sure: string | undefined;
    for (const s of schemas) {
      if (s.type === undefined) continue;
      const types = Array.isArray(s.type) ? s.type : [s.type];
      out.push(`if (!(${types.map((t) => typeTest(t, x)).join(' || ')})) return false;`);
      if (types.length === 1) sure = types[0] === 'integer' ? 'number' : (types[0] as string);
    }
    for (const s of schemas) {
      if (s.const !== undefined) {
        if (!isPlain(s.const)) no('const with an object, an array or a non-finite number');
        out.push(`if (${x} !== ${JSON.stringify(s.const)}) return false;`);
      }
      if (s.enum !== undefined) {
        if (!Array.isArray(s.enum) || s.enum.length === 0 || !s.enum.every(isPlain)) no('enum with objects or arrays');
        out.push(`if (!(${s.enum.map((e) => `${x} === ${JSON.stringify(e)}`).join(' || ')})) return false;`);
      }
    }
    const guard = (type: string, test: string, body: string[]) => {
      if (body.length === 0) return;
      if (sure === type) out.push(...body);
      else out.push(`if (${test}) {`, ...body, '}');
    };

    const str: string[] = [];
    for (const s of schemas) this.stringKeywords(s, x, str);
    guard('string', `typeof ${x} === "string"`, str);

    const num: string[] = [];
    for (const s of schemas) {
      for (const [k, op] of [['minimum', '<'], ['maximum', '>'], ['exclusiveMinimum', '<='], ['exclusiveMaximum', '>=']] as const) {
        if (s[k] === undefined) continue;
        if (typeof s[k] !== 'number' || !Number.isFinite(s[k])) no(`${k} that is not a number`);
        num.push(`if (${x} ${op} ${JSON.stringify(s[k])}) return false;`);
      }
    }
    guard('number', `typeof ${x} == "number" && isFinite(${x})`, num);

    const obj: string[] = [];
    this.objectKeywords(all, x, obj, depth);
    guard('object', `${x} && typeof ${x} == "object" && !Array.isArray(${x})`, obj);

    const arr: string[] = [];
    for (const at of all) {
      const s = at.schema as Record<string, unknown>;
      if (s.items !== undefined && s.items !== true) {
        if (Array.isArray(s.items)) no('items as a list');
        const f = this.fn({ ...at, schema: s.items as Schema });
        const i = this.v();
        arr.push(`for (let ${i} = 0; ${i} < ${x}.length; ${i}++) if (!${f}(${x}[${i}])) return false;`);
      }
      if (s.minItems !== undefined) arr.push(`if (${x}.length < ${count(s.minItems, 'minItems')}) return false;`);
      if (s.maxItems !== undefined) arr.push(`if (${x}.length > ${count(s.maxItems, 'maxItems')}) return false;`);
    }
    guard('array', `Array.isArray(${x})`, arr);

    for (const at of all) {
      const s = at.schema as Record<string, unknown>;
      if (s.anyOf !== undefined) {
        const fs = list(s.anyOf, 'anyOf').map((sub) => this.fn({ ...at, schema: sub }));
        out.push(`if (!(${fs.map((f) => `${f}(${x})`).join(' || ')})) return false;`);
      }
      if (s.oneOf !== undefined) {
        const fs = list(s.oneOf, 'oneOf').map((sub) => this.fn({ ...at, schema: sub }));
        out.push(`if ((${fs.map((f) => `(${f}(${x}) ? 1 : 0)`).join(' + ')}) !== 1) return false;`);
      }
      if (s.not !== undefined) out.push(`if (${this.fn({ ...at, schema: s.not as Schema })}(${x})) return false;`);
      if (s.if !== undefined) {
        const fi = this.fn({ ...at, schema: s.if as Schema });
        const ft = s.then === undefined ? undefined : this.fn({ ...at, schema: s.then as Schema });
        const fe = s.else === undefined ? undefined : this.fn({ ...at, schema: s.else as Schema });
        if (ft || fe) out.push(`if (${fi}(${x}) ? ${ft ? `!${ft}(${x})` : 'false'} : ${fe ? `!${fe}(${x})` : 'false'}) return false;`);
      }
    }
  }

  private stringKeywords(s: Record<string, unknown>, x: string, str: string[]): void {
    if (s.minLength !== undefined) {
      const n = count(s.minLength, 'minLength');
      // ucs2length(x) <= x.length <= 2 * ucs2length(x): the UTF-16 length settles most strings without a scan.
      if (n > 0) str.push(`if (${x}.length < ${n} || (${x}.length < ${2 * n} && ucs2length(${x}) < ${n})) return false;`);
    }
    if (s.maxLength !== undefined) {
      const n = count(s.maxLength, 'maxLength');
      str.push(`if (${x}.length > ${n} && ucs2length(${x}) > ${n}) return false;`);
    }
    if (s.pattern !== undefined) {
      if (typeof s.pattern !== 'string') no('pattern that is not a string');
      str.push(`if (!${this.constant(new RegExp(s.pattern, 'u'))}.test(${x})) return false;`);
    }
    if (s.format !== undefined) {
      if (typeof s.format !== 'string') no('format that is not a string');
      const f = this.formats[s.format];
      if (f === undefined) no(`unknown format "${s.format}"`);
      if ((f as unknown) === true) return; // a format ajv was told to ignore
      if (typeof f === 'function') str.push(`if (!${this.constant(f)}(${x})) return false;`);
      else if (f instanceof RegExp) str.push(`if (!${this.constant(f)}.test(${x})) return false;`);
      else {
        if (f.async || (f.type !== undefined && f.type !== 'string')) no(`format "${s.format}" on a ${f.type ?? 'async'} value`);
        const c = this.constant(f.validate);
        str.push(f.validate instanceof RegExp ? `if (!${c}.test(${x})) return false;` : `if (!${c}(${x})) return false;`);
      }
    }
  }

  private objectKeywords(all: Located[], x: string, obj: string[], depth: number): void {
    const required = new Set<string>();
    const props = new Map<string, Located[]>();
    for (const at of all) {
      const s = at.schema as Record<string, unknown>;
      if (s.required !== undefined) {
        if (!Array.isArray(s.required) || !s.required.every((r) => typeof r === 'string')) no('required that is not a list of names');
        for (const r of s.required) required.add(r);
      }
      if (s.properties !== undefined) {
        const p = s.properties;
        if (p === null || typeof p !== 'object' || Array.isArray(p)) no('properties that is not an object');
        for (const [k, sub] of Object.entries(p)) {
          if (k === '__proto__') continue; // ajv ignores a property schema by that name
          if (!props.has(k)) props.set(k, []);
          if (sub !== true) props.get(k)!.push({ ...at, schema: sub as Schema });
        }
      }
    }
    // Required names first (a missing one ends it soonest), each property read once.
    for (const k of new Set([...required, ...props.keys()])) {
      const subs = props.get(k) ?? [];
      const need = required.has(k);
      if (!need && subs.length === 0) continue;
      const p = this.v();
      obj.push(`const ${p} = ${x}[${JSON.stringify(k)}];`);
      const inner: string[] = [];
      if (subs.length) this.emit(subs, p, inner, depth + 1);
      if (need) obj.push(`if (${p} === undefined) return false;`, ...inner);
      else if (inner.length) obj.push(`if (${p} !== undefined) {`, ...inner, '}');
    }
    for (const at of all) {
      const s = at.schema as Record<string, unknown>;
      if (s.additionalProperties !== undefined && s.additionalProperties !== true) {
        const known = s.properties ? Object.keys(s.properties as object).filter((k) => k !== '__proto__') : [];
        const k = this.v();
        const isKnown = known.length === 0 ? 'false' : known.length <= 8 ? known.map((n) => `${k} === ${JSON.stringify(n)}`).join(' || ') : `${this.constant(new Set(known))}.has(${k})`;
        if (s.additionalProperties === false) obj.push(`for (const ${k} in ${x}) if (!(${isKnown})) return false;`);
        else {
          const f = this.fn({ ...at, schema: s.additionalProperties as Schema });
          obj.push(`for (const ${k} in ${x}) if (!(${isKnown}) && !${f}(${x}[${k}])) return false;`);
        }
      }
      if (s.minProperties !== undefined) obj.push(`if (Object.keys(${x}).length < ${count(s.minProperties, 'minProperties')}) return false;`);
      if (s.maxProperties !== undefined) obj.push(`if (Object.keys(${x}).length > ${count(s.maxProperties, 'maxProperties')}) return false;`);
    }
  }

  private ref(at: Located, ref: unknown): Located {
    if (typeof ref !== 'string') no('$ref that is not a string');
    const r = resolveRef(ref, at.base, (docId) => (docId === at.base ? at.doc : this.docs.get(docId)));
    if (!r.ok) no(REF_FAILURE[r.why](ref));
    return { schema: r.target as Schema, base: r.docId, doc: r.doc };
  }
}

function typeTest(t: unknown, x: string): string {
  switch (t) {
    case 'string':
      return `typeof ${x} === "string"`;
    case 'number':
      return `(typeof ${x} == "number" && isFinite(${x}))`;
    case 'integer':
      return `(typeof ${x} == "number" && !(${x} % 1) && !isNaN(${x}) && isFinite(${x}))`;
    case 'boolean':
      return `typeof ${x} === "boolean"`;
    case 'null':
      return `${x} === null`;
    case 'object':
      return `(${x} && typeof ${x} == "object" && !Array.isArray(${x}))`;
    case 'array':
      return `Array.isArray(${x})`;
    default:
      return no(`type ${JSON.stringify(t)}`);
  }
}

function count(v: unknown, k: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) no(`${k} that is not a whole number`);
  return v;
}

function list(v: unknown, k: string): Schema[] {
  if (!Array.isArray(v) || v.length === 0) no(`${k} that is not a list of schemas`);
  return v as Schema[];
}
