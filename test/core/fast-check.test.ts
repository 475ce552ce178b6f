import { describe, it, expect, beforeAll } from 'vitest';
import { loadRuleset, type Ruleset } from '../../src/index.ts';
import { compileSchemas, createAjv } from '../../src/core/schema/compile-schemas.ts';
import { compileFastCheck } from '../../src/core/schema/fast-check.ts';
import { RULES_DIR, MAPPINGS_DIR } from '../support/ruleset.ts';
import { generateCorpus, prng } from '../support/corpus.ts';

type Schema = Record<string, unknown> | boolean;
const BASE = 'https://fast-check.test/';

/** ajv's verdict and the predicate's, for one schema (plus any other documents it refers to). */
function pair(schema: Schema, others: Record<string, Schema> = {}, ajv = createAjv()) {
  const docs = new Map<string, Schema>();
  for (const [name, doc] of Object.entries(others)) {
    ajv.addSchema(doc as object, BASE + name);
    docs.set(BASE + name, doc);
  }
  const id = `${BASE}root-${Math.random().toString(36).slice(2)}.json`;
  const validate = ajv.compile(typeof schema === 'boolean' ? schema : { ...schema, $id: id });
  docs.set(id, typeof schema === 'boolean' ? schema : { ...schema, $id: id });
  const fast = compileFastCheck(id, docs, ajv.formats as Record<string, never>);
  return { validate, fast };
}

// Values chosen for the places where a hand-made check most often differs from ajv.
const values: unknown[] = [
  undefined, null, true, false, 0, -0, 1, -1, 1.5, 2 ** 53 + 2, 1e308, -1e308, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 86400, 86401,
  '', 'a', 'ab', 'abc', '😀', '😀😀', 'a😀', '\uD800', 'x'.repeat(256), 'x'.repeat(257), '😀'.repeat(200), '😀'.repeat(257), '東京',
  '+5511987654321', '+0123', '2026-11-25T12:00:00Z', '2026-11-25T12:00:00.123Z', '2026-02-30T10:00:00Z', '2016-12-31T23:59:60Z', '2026-11-25t12:00:00z',
  '2026-11-25T12:00:00+03:00', '2026-11-25', 'yesterday', 'user@example.com', 'https://example.com/x',
  [], [1], [1, 2, 3], ['a', 'b'], [null], [[]], {}, { a: 1 }, { a: 'x', b: 2 }, { a: undefined }, { a: 1, c: true }, { b: 'x' },
  JSON.parse('{"__proto__": 1}'), JSON.parse('{"constructor": "x", "a": 1}'), Object.create(null), Object.assign(Object.create({ inherited: 1 }), { a: 1 }),
  new Date(0), { then: 1 }, { a: { b: { c: 1 } } }, { a: [1, 'x'] },
];

const keywordSchemas: Schema[] = [
  true, false, {},
  ...['string', 'number', 'integer', 'boolean', 'null', 'object', 'array'].map((type) => ({ type })),
  { type: ['string', 'null'] }, { type: ['integer', 'string'] }, { type: ['number', 'object', 'array'] },
  { const: '1.0' }, { const: 0 }, { const: null }, { const: true }, { enum: ['inbound', 'outbound'] }, { enum: [1, 'a', null, false] },
  { minLength: 0 }, { minLength: 1 }, { minLength: 2 }, { minLength: 3 }, { maxLength: 0 }, { maxLength: 1 }, { maxLength: 2 }, { maxLength: 256 },
  { type: 'string', minLength: 1, maxLength: 256 }, { minLength: 200, maxLength: 256 },
  { pattern: '^\\+[1-9][0-9]{1,14}$' }, { pattern: '\\p{L}' }, { pattern: 'a' }, { type: 'string', pattern: '^.$' },
  { format: 'date-time' }, { format: 'date' }, { format: 'email' }, { format: 'uri' }, { type: 'string', format: 'date-time' },
  { minimum: 0 }, { maximum: 86400 }, { exclusiveMinimum: 0 }, { exclusiveMaximum: 1 }, { type: 'integer', minimum: 0, maximum: 86400 }, { type: 'number', minimum: -1.5 },
  { required: ['a'] }, { required: ['a', 'b'] }, { required: ['constructor'] }, { required: ['__proto__'] },
  { properties: { a: { type: 'integer' } } }, { properties: { a: { type: 'string' }, b: { minimum: 3 } }, required: ['a'] },
  { properties: { a: true, b: false } }, JSON.parse('{"properties": {"__proto__": {"type": "number"}}, "required": ["__proto__"]}') as Schema,
  JSON.parse('{"properties": {"__proto__": {"type": "number"}, "a": {}}, "additionalProperties": false}') as Schema,
  { additionalProperties: false }, { properties: { a: {} }, additionalProperties: false }, { properties: { a: {} }, additionalProperties: { type: 'string' } },
  { type: 'object', properties: { a: { type: 'object', properties: { b: { type: 'object', required: ['c'] } } } } },
  { properties: Object.fromEntries('abcdefghij'.split('').map((k) => [k, { type: 'integer' }])), additionalProperties: false },
  { minProperties: 1 }, { maxProperties: 1 }, { items: { type: 'integer' } }, { items: false }, { minItems: 1 }, { maxItems: 2 }, { type: 'array', items: { type: 'array' } },
  { allOf: [{ type: 'number' }, { minimum: 1 }] }, { anyOf: [{ type: 'string' }, { type: 'integer' }] }, { oneOf: [{ type: 'number' }, { type: 'integer' }] },
  { oneOf: [{ minimum: 1 }, { maximum: 10 }] }, { not: { type: 'object' } }, { if: { type: 'string' }, then: { minLength: 2 }, else: { type: 'integer' } },
  { if: { type: 'string' } , then: { minLength: 2 } }, { if: { type: 'number' }, else: false },
  { $defs: { pos: { type: 'integer', minimum: 1 } }, properties: { a: { $ref: '#/$defs/pos' } } },
  { $ref: '#/$defs/s', $defs: { s: { type: 'string' } }, minLength: 2 },
];

describe('fast schema check: the same verdict as ajv', () => {
  it.each(keywordSchemas.map((s) => [JSON.stringify(s), s] as const))('%s', (_name, schema) => {
    const { validate, fast } = pair(schema);
    expect(fast.reason).toBeUndefined();
    const differ = values.filter((v) => fast.check!(v) !== validate(v));
    expect(differ.map((v) => (typeof v === 'string' && v.length > 20 ? `${v.slice(0, 20)}…` : v))).toEqual([]);
  });

  it('follows $ref into another document, relative to the $id', () => {
    const envelope = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 3 } } };
    const { validate, fast } = pair({ $ref: 'envelope.json', properties: { type: { const: 'x' } } }, { 'envelope.json': envelope });
    for (const v of [{ id: 'abc', type: 'x' }, { id: 'abcd', type: 'x' }, { type: 'x' }, { id: 'a', type: 'y' }, 'x', { id: 1 }]) expect(fast.check!(v)).toBe(validate(v));
    expect(fast.check!({ id: 'abc', type: 'x' })).toBe(true);
    expect(fast.check!({ id: 'abcd', type: 'x' })).toBe(false);
  });

  it.each([
    [{ patternProperties: { '^a': { type: 'string' } } }, 'keyword "patternProperties"'],
    [{ multipleOf: 2 }, 'keyword "multipleOf"'],
    [{ uniqueItems: true }, 'keyword "uniqueItems"'],
    [{ const: { a: 1 } }, 'const with an object'],
    [{ enum: [[1], 2] }, 'enum with objects'],
    [{ $defs: { n: { properties: { next: { $ref: '#/$defs/n' } } } }, $ref: '#/$defs/n' }, 'nested more than'],
  ] as const)('leaves %j to ajv alone', (schema, reason) => {
    const { fast } = pair(schema as Schema);
    expect(fast.check).toBeUndefined();
    expect(fast.reason).toContain(reason);
  });

  it('agrees with ajv on 2,000 random schemas of the keywords it takes, each against every test value', () => {
    const rand = prng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const leaf = (): Record<string, unknown> => {
      const s: Record<string, unknown> = {};
      const n = 1 + Math.floor(rand() * 3);
      for (let i = 0; i < n; i++) {
        const k = pick(['type', 'const', 'enum', 'minLength', 'maxLength', 'pattern', 'format', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'required']);
        if (k === 'type') s.type = rand() < 0.7 ? pick(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array']) : ['string', 'integer', 'null'].filter(() => rand() < 0.6).concat('object');
        else if (k === 'const') s.const = pick([0, 1, 'a', '', null, true]);
        else if (k === 'enum') s.enum = [...new Set([pick([0, 1, 'a', null]), pick(['ab', false, 1.5])])];
        else if (k === 'pattern') s.pattern = pick(['^a', 'b$', '^.{2}$', '\\d']);
        else if (k === 'format') s.format = pick(['date-time', 'date', 'email']);
        else if (k === 'required') s.required = [pick(['a', 'b', 'c'])];
        else s[k] = pick([0, 1, 2, 3, 256]);
      }
      return s;
    };
    const node = (depth: number): Schema => {
      if (depth <= 0 || rand() < 0.35) return rand() < 0.05 ? rand() < 0.5 : leaf();
      const s = rand() < 0.5 ? leaf() : {};
      switch (Math.floor(rand() * 7)) {
        case 0:
          s.properties = { a: node(depth - 1), b: node(depth - 1) };
          if (rand() < 0.5) s.additionalProperties = rand() < 0.5 ? false : node(depth - 1);
          break;
        case 1:
          s.items = node(depth - 1);
          break;
        case 2:
          s.allOf = [node(depth - 1), node(depth - 1)];
          break;
        case 3:
          s.anyOf = [node(depth - 1), node(depth - 1)];
          break;
        case 4:
          s.oneOf = [node(depth - 1), node(depth - 1), node(depth - 1)];
          break;
        case 5:
          s.not = node(depth - 1);
          break;
        default:
          s.if = node(depth - 1);
          if (rand() < 0.7) s.then = node(depth - 1);
          if (rand() < 0.7 || s.then === undefined) s.else = node(depth - 1);
      }
      return s;
    };
    const nested = [...values, { a: 'x', b: [1, 'a'] }, { a: { a: 1 }, b: { b: 'ab' } }, { a: [], b: {} }, [{ a: 1 }, 'ab', 2], { a: 1, b: 2, c: 3 }];
    const differ: string[] = [];
    const ajv = createAjv();
    for (let i = 0; i < 2000; i++) {
      const schema = node(3);
      const { validate, fast } = pair(schema, {}, ajv);
      expect(fast.reason, JSON.stringify(schema)).toBeUndefined();
      for (const v of nested) {
        if (fast.check!(v) !== validate(v)) differ.push(`${JSON.stringify(schema)} on ${JSON.stringify(v)}`);
      }
    }
    expect(differ.slice(0, 5)).toEqual([]);
  });
});

describe('fast schema check on the shipped ruleset', () => {
  let ruleset: Ruleset;
  beforeAll(async () => {
    ruleset = await loadRuleset({ rules: RULES_DIR, mappings: MAPPINGS_DIR });
  });

  it('gives every shipped record type a predicate', () => {
    const compiled = compileSchemas(ruleset);
    expect(compiled.slow).toEqual({});
    expect(Object.keys(compiled.checks).sort()).toEqual(Object.keys(ruleset.types).sort());
  });

  it('keeps the predicate for a schema whose $id ends in "#" and refers to its own $defs', () => {
    const schema = { $id: 'https://x.test/a.json#', type: 'object', required: ['n'], properties: { n: { $ref: '#/$defs/n' } }, $defs: { n: { type: 'integer', minimum: 1 } } };
    const [type, def] = Object.entries(ruleset.types)[0]!;
    const compiled = compileSchemas({ ...ruleset, schemas: { ...ruleset.schemas, 'schemas/hash-id.json': schema }, types: { ...ruleset.types, [type]: { ...def, schema: 'schemas/hash-id.json' } } });
    expect(compiled.slow[type]).toBeUndefined();
    expect([compiled.checks[type]!({ n: 2 }), compiled.checks[type]!({ n: 0 }), compiled.checks[type]!({})]).toEqual([true, false, false]);
    expect(compiled.byType[type]!({ n: 0 })).toBe(false);
  });

  it('gives ajv verdict on 12,000 corpus records, as built and as parsed from JSON, for every type', () => {
    const compiled = compileSchemas(ruleset);
    const corpus = generateCorpus(12_000, 99);
    const parsed = corpus.map((r) => JSON.parse(JSON.stringify(r) ?? 'null') as unknown);
    let valid = 0;
    const differ: string[] = [];
    for (const [type, check] of Object.entries(compiled.checks)) {
      const validate = compiled.byType[type];
      for (const r of [...corpus, ...parsed]) {
        const a = validate(r);
        if (a) valid++;
        if (check!(r) !== a) differ.push(`${type}: ${JSON.stringify(r)?.slice(0, 200)}`);
      }
    }
    expect(differ.slice(0, 5)).toEqual([]);
    // The corpus exercises both answers for the shipped schemas.
    expect(valid).toBeGreaterThan(5_000);
  });
});
