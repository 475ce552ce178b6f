import { describe, it, expect } from 'vitest';
import { jsonDiff, findConditionals } from '../../src/testing/index.ts';
import { createSchemaWalker, jsonPathKeys } from '../../src/core/schema/walk-schema.ts';

describe('jsonDiff', () => {
  it('exact: changed, missing and unexpected fields, by path', () => {
    expect(jsonDiff({ a: 1, b: { c: [1, 2] }, 'odd key': 1 }, { a: 2, b: { c: [1, 3] }, d: true })).toEqual([
      { path: '$.a', kind: 'changed', expected: 1, actual: 2 },
      { path: '$.b.c[1]', kind: 'changed', expected: 2, actual: 3 },
      { path: '$["odd key"]', kind: 'missing', expected: 1 },
      { path: '$.d', kind: 'unexpected', actual: true },
    ]);
  });

  it('partial: only what the expectation names; arrays keep their length', () => {
    expect(jsonDiff({ a: 1, b: [{ x: 1 }] }, { a: 1, b: [{ x: 1, y: 2 }], c: 3 }, { partial: true })).toEqual([]);
    expect(jsonDiff({ b: [{ x: 1 }] }, { b: [{ x: 1 }, { x: 2 }] }, { partial: true })).toEqual([{ path: '$.b', kind: 'changed', expected: [{ x: 1 }], actual: [{ x: 1 }, { x: 2 }] }]);
  });
});

describe('findConditionals', () => {
  it('probes nested conditionals with the guards around them', async () => {
    const cs = findConditionals('{ "a": data.x > 5 ? (data.y = "q" ? 1 : 2) : 3, "b": data.items[x ? 1 : 0], "c": ($v := 1; $v ? 1 : 2) }');
    expect(cs.map((c) => [c.condition, !!c.probe])).toEqual([
      ['(data.x > 5)', true],
      ['(data.y = "q")', true],
      ['x', false],
      ['$v', false],
    ]);
    expect(await cs[1].probe!.evaluate({ data: { x: 7, y: 'q' } })).toBe('then');
    expect(await cs[1].probe!.evaluate({ data: { x: 1, y: 'q' } })).toBe('unreached');
    expect(await cs[0].probe!.evaluate({ data: { x: 1 } })).toBe('else');
  });
});

describe('schema walker', () => {
  const schemas = {
    'rules/schemas/base.schema.json': { $id: 'https://x/base.schema.json', type: 'object', required: ['data'], properties: { id: { type: 'string' }, data: { type: 'object' } } },
    'rules/schemas/t.schema.json': {
      $id: 'https://x/t.schema.json',
      $ref: 'base.schema.json',
      properties: {
        data: {
          type: 'object',
          additionalProperties: false,
          properties: { n: { type: 'integer', minimum: 0, maximum: 10 }, kind: { enum: ['a', 'b'] }, v: { anyOf: [{ type: 'string' }, { type: 'number' }] }, list: { type: 'array', items: { type: 'object', properties: { p: { const: 1 } } } } },
        },
      },
    },
  };
  const w = createSchemaWalker(schemas);
  const root = w.root('rules/schemas/t.schema.json')!;

  it('follows $ref, properties and items; knows types, enums and ranges', () => {
    const n = w.walk(root, ['data', 'n']);
    expect(n.kind).toBe('found');
    expect(w.leaf((n as any).view)).toMatchObject({ types: new Set(['integer']), minimum: 0, maximum: 10 });
    expect(w.leaf((w.walk(root, ['data', 'kind']) as any).view).values).toEqual(['a', 'b']);
    expect(w.leaf((w.walk(root, ['data', 'v']) as any).view).types).toEqual(new Set(['string', 'number']));
    expect(w.leaf((w.walk(root, ['data', 'list', 'p']) as any).view).values).toEqual([1]);
    expect(w.walk(root, ['id']).kind).toBe('found');
  });

  it('says which step is missing, and what is known there', () => {
    expect(w.walk(root, ['data', 'nn'])).toEqual({ kind: 'missing', known: ['kind', 'list', 'n', 'v'], at: 1 });
    expect(w.walk(root, ['data', 'n', 'deeper'])).toMatchObject({ kind: 'missing', at: 2 });
    expect(w.walk(w.root('rules/schemas/base.schema.json')!, ['data', 'anything']).kind).toBe('open');
  });

  it('reads plain JSONPaths', () => {
    expect(jsonPathKeys('$.a.b')).toEqual(['a', 'b']);
    expect(jsonPathKeys("$.a[0]['b c']")).toEqual(['a', '[]', 'b c']);
    expect(jsonPathKeys('$..a')).toBeUndefined();
    expect(jsonPathKeys('$.a[?(@.x)]')).toBeUndefined();
  });
});
