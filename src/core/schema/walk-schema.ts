/**
 * A small reader of the ruleset's record JSON Schemas: which properties a path may reach, and what types,
 * enums and ranges its value may have. Used to type CSV cells and by `lint` to tell a misspelt path from
 * a real one. It understands properties, additionalProperties, patternProperties, items, $ref (between
 * the ruleset's files and inside one), allOf, anyOf/oneOf, type, const, enum and the numeric bounds;
 * anything else is taken as "allows anything", so the answers err towards "this path may exist".
 */
import { resolveRef, schemaDocuments, schemaUri } from './resolve-ref.ts';

type Schema = Record<string, unknown> | boolean;

interface Located {
  schema: Schema;
  /** Base URI of the document, for $ref resolution. */
  base: string;
  doc: Schema;
}

/** Alternatives (anyOf/oneOf), each the list of schemas that all apply (the schema, its $ref, its allOf). */
export type SchemaView = Located[][];

export type StepResult =
  | { kind: 'found'; view: SchemaView }
  /** No schema on the way allows this property. `known` lists the properties that are allowed there. */
  | { kind: 'missing'; known: string[] }
  /** Nothing says what is there (e.g. `{ "type": "object" }`): any property is allowed. */
  | { kind: 'open' };

export interface LeafInfo {
  /** JSON types the value may have; undefined when unconstrained. "integer" stands for whole numbers. */
  types?: Set<string>;
  /** Every value it may take, when the schema lists them (enum/const). */
  values?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

const MAX_BRANCHES = 64;

export interface SchemaWalker {
  /** The view of a schema file of the ruleset (by its path, e.g. rules/schemas/sms.sent.schema.json). */
  root(path: string): SchemaView | undefined;
  /** One step down: a property name, or "[]" for the items of an array. */
  step(view: SchemaView, key: string): StepResult;
  /** Walks a path of keys; `at` is the index of the step that failed when missing. */
  walk(view: SchemaView, keys: string[]): StepResult & { at?: number };
  leaf(view: SchemaView): LeafInfo;
}

/** `schemas` are the ruleset's record schemas by file path (Ruleset.schemas). Same base URIs as the pipeline's ajv. */
export function createSchemaWalker(schemas: Record<string, Record<string, unknown>>): SchemaWalker {
  const byId = schemaDocuments(schemas);
  const baseOf = (path: string) => schemaUri(path, schemas[path]);

  const refTarget = (ref: string, from: Located): Located | undefined => {
    // A fragment-only $ref stays in the document it is written in.
    const local = ref.startsWith('#');
    const r = resolveRef(ref, from.base, (docId) => (local ? from.doc : byId.get(docId)));
    if (!r.ok) return undefined;
    const node = r.target;
    if (typeof node !== 'boolean' && (node === null || typeof node !== 'object')) return undefined;
    return { schema: node as Schema, base: local ? from.base : r.docId, doc: r.doc };
  };

  const expand = (l: Located, depth = 0): SchemaView => {
    if (l.schema === false) return [];
    if (l.schema === true || depth > 32) return [[]];
    const s = l.schema;
    let branches: SchemaView = [[l]];
    const cross = (other: SchemaView) => {
      const out: SchemaView = [];
      for (const a of branches) for (const b of other) if (out.length < MAX_BRANCHES) out.push([...a, ...b]);
      branches = out;
    };
    if (typeof s.$ref === 'string') {
      const target = refTarget(s.$ref, l);
      if (target) cross(expand(target, depth + 1));
    }
    if (Array.isArray(s.allOf)) for (const sub of s.allOf) cross(expand({ ...l, schema: sub as Schema }, depth + 1));
    for (const k of ['anyOf', 'oneOf'] as const) {
      if (Array.isArray(s[k])) cross((s[k] as Schema[]).flatMap((sub) => expand({ ...l, schema: sub }, depth + 1)));
    }
    return branches;
  };

  const typesOf = (s: Record<string, unknown>): Set<string> | undefined => {
    if (typeof s.type === 'string') return new Set([s.type]);
    if (Array.isArray(s.type)) return new Set(s.type as string[]);
    return undefined;
  };

  type Verdict = { kind: 'sub'; schema: Located } | { kind: 'forbid' } | { kind: 'open' };
  const verdict = (l: Located, key: string): Verdict => {
    if (l.schema === true) return { kind: 'open' };
    if (l.schema === false) return { kind: 'forbid' };
    const s = l.schema;
    const types = typesOf(s);
    if (key === '[]') {
      if (types && !types.has('array')) return { kind: 'forbid' };
      if (s.items !== undefined && typeof s.items !== 'boolean' && !Array.isArray(s.items)) return { kind: 'sub', schema: { ...l, schema: s.items as Schema } };
      return { kind: 'open' };
    }
    const props = s.properties as Record<string, Schema> | undefined;
    if (props && Object.hasOwn(props, key)) return { kind: 'sub', schema: { ...l, schema: props[key] } };
    const patterns = s.patternProperties as Record<string, Schema> | undefined;
    if (patterns) {
      for (const [p, sub] of Object.entries(patterns)) {
        try {
          if (new RegExp(p, 'u').test(key)) return { kind: 'sub', schema: { ...l, schema: sub } };
        } catch {
          return { kind: 'open' };
        }
      }
    }
    if (types && !types.has('object')) {
      // A path step into an array maps over its items (JSONata and JSONPath both do).
      if (types.has('array') && s.items && typeof s.items === 'object' && !Array.isArray(s.items)) return verdictOfItems(l, s.items as Schema, key);
      return { kind: 'forbid' };
    }
    if (s.additionalProperties === false) return { kind: 'forbid' };
    if (s.additionalProperties && typeof s.additionalProperties === 'object') return { kind: 'sub', schema: { ...l, schema: s.additionalProperties as Schema } };
    return { kind: 'open' };
  };
  const verdictOfItems = (l: Located, items: Schema, key: string): Verdict => {
    const view = expand({ ...l, schema: items });
    const r = step(view, key);
    if (r.kind === 'missing') return { kind: 'forbid' };
    if (r.kind === 'open') return { kind: 'open' };
    // Re-wrap: the found view becomes an anyOf of its branches.
    return { kind: 'sub', schema: { ...l, schema: { anyOf: r.view.map((b) => ({ allOf: b.map((x) => x.schema) })) } } };
  };

  const step = (view: SchemaView, key: string): StepResult => {
    const found: SchemaView = [];
    let open = false;
    const known = new Set<string>();
    for (const branch of view) {
      let forbidden = false;
      let subs: SchemaView = [[]];
      let anySub = false;
      for (const l of branch) {
        if (typeof l.schema === 'object' && l.schema.properties && typeof l.schema.properties === 'object') {
          for (const k of Object.keys(l.schema.properties)) known.add(k);
        }
        const v = verdict(l, key);
        if (v.kind === 'forbid') forbidden = true;
        else if (v.kind === 'sub') {
          anySub = true;
          const ex = expand(v.schema);
          const out: SchemaView = [];
          for (const a of subs) for (const b of ex) if (out.length < MAX_BRANCHES) out.push([...a, ...b]);
          subs = out;
        }
      }
      if (forbidden) continue;
      if (!anySub) open = true;
      else found.push(...subs);
    }
    if (open) return found.length ? { kind: 'found', view: [...found, []] } : { kind: 'open' };
    if (found.length) return { kind: 'found', view: found };
    return { kind: 'missing', known: [...known].sort() };
  };

  const walk = (view: SchemaView, keys: string[]): StepResult & { at?: number } => {
    let cur = view;
    for (let i = 0; i < keys.length; i++) {
      const r = step(cur, keys[i]);
      if (r.kind === 'missing') return { ...r, at: i };
      if (r.kind === 'open') return r;
      cur = r.view;
    }
    return { kind: 'found', view: cur };
  };

  const leaf = (view: SchemaView): LeafInfo => {
    const infos = view.map(branchInfo);
    if (infos.length === 0) return { types: new Set() };
    const out: LeafInfo = {};
    if (infos.every((i) => i.types)) out.types = new Set(infos.flatMap((i) => [...i.types!]));
    if (infos.every((i) => i.values)) out.values = infos.flatMap((i) => i.values!);
    for (const k of ['minimum', 'exclusiveMinimum'] as const) if (infos.every((i) => i[k] !== undefined)) out[k] = Math.min(...infos.map((i) => i[k]!));
    for (const k of ['maximum', 'exclusiveMaximum'] as const) if (infos.every((i) => i[k] !== undefined)) out[k] = Math.max(...infos.map((i) => i[k]!));
    return out;
  };

  return {
    root(path) {
      const s = schemas[path];
      if (!s) return undefined;
      return expand({ schema: s, base: baseOf(path), doc: s });
    },
    step,
    walk,
    leaf,
  };
}

function branchInfo(branch: Located[]): LeafInfo {
  const out: LeafInfo = {};
  for (const l of branch) {
    if (typeof l.schema !== 'object') continue;
    const s = l.schema;
    let types: Set<string> | undefined = typeof s.type === 'string' ? new Set([s.type]) : Array.isArray(s.type) ? new Set(s.type as string[]) : undefined;
    let values: unknown[] | undefined;
    if (Object.hasOwn(s, 'const')) values = [s.const];
    else if (Array.isArray(s.enum)) values = s.enum;
    if (values) {
      const vt = new Set(values.map(jsonType));
      types = types ? intersectTypes(types, vt) : vt;
      out.values = out.values ? out.values.filter((v) => values!.some((w) => sameJson(v, w))) : values;
    }
    if (types) out.types = out.types ? intersectTypes(out.types, types) : types;
    if (typeof s.minimum === 'number') out.minimum = Math.max(out.minimum ?? -Infinity, s.minimum);
    if (typeof s.maximum === 'number') out.maximum = Math.min(out.maximum ?? Infinity, s.maximum);
    if (typeof s.exclusiveMinimum === 'number') out.exclusiveMinimum = Math.max(out.exclusiveMinimum ?? -Infinity, s.exclusiveMinimum);
    if (typeof s.exclusiveMaximum === 'number') out.exclusiveMaximum = Math.min(out.exclusiveMaximum ?? Infinity, s.exclusiveMaximum);
  }
  if (out.values && out.types) out.values = out.values.filter((v) => typeAllows(out.types!, v));
  return out;
}

/** JSON Schema type of a JSON value ("integer" for whole numbers). */
export function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Whether a set of schema types admits a value. */
export function typeAllows(types: Set<string>, v: unknown): boolean {
  const t = jsonType(v);
  if (types.has(t)) return true;
  return t === 'integer' && types.has('number');
}

function intersectTypes(a: Set<string>, b: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const t of a) {
    if (b.has(t)) out.add(t);
    else if (t === 'number' && b.has('integer')) out.add('integer');
    else if (t === 'integer' && b.has('number')) out.add('integer');
  }
  return out;
}

function sameJson(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Keys of a plain JSONPath as json-rules-engine conditions write them: `$.a.b`, `$.a[0]`, `$['a']`.
 * Array indexes become "[]". Returns undefined for anything fancier (filters, wildcards, `..`).
 */
export function jsonPathKeys(path: string): string[] | undefined {
  if (!path.startsWith('$')) return undefined;
  const keys: string[] = [];
  const re = /\.([A-Za-z_$][A-Za-z0-9_$-]*)|\[(\d+)\]|\['([^'\\]*)'\]|\["([^"\\]*)"\]/y;
  let i = 1;
  while (i < path.length) {
    re.lastIndex = i;
    const m = re.exec(path);
    if (!m) return undefined;
    keys.push(m[1] ?? (m[2] !== undefined ? '[]' : (m[3] ?? m[4])));
    i = re.lastIndex;
  }
  return keys;
}
