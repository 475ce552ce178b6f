/**
 * `$ref` resolution shared by the schema readers (fast-check.ts, walk-schema.ts): resolves the reference
 * against a base URI, finds the document it names, and follows the JSON pointer in its fragment.
 */
type Schema = Record<string, unknown> | boolean;

/** Base URI for schemas without an $id, so relative $refs between files resolve like paths on disk. */
const SCHEMA_BASE = 'https://ruleset.invalid/';

/** A ruleset schema file's URI, without fragment: its `$id`, else SCHEMA_BASE + its path (ajv gets the same). */
export function schemaUri(path: string, schema: Schema | undefined): string {
  const id = typeof schema === 'object' && typeof schema.$id === 'string' ? schema.$id : SCHEMA_BASE + path;
  const hash = id.indexOf('#');
  return hash < 0 ? id : id.slice(0, hash);
}

/** The ruleset's schema files by their URI (schemaUri): the documents a `$ref` can name. */
export function schemaDocuments(schemas: Readonly<Record<string, Schema>>): Map<string, Schema> {
  const docs = new Map<string, Schema>();
  for (const [path, schema] of Object.entries(schemas)) docs.set(schemaUri(path, schema), schema);
  return docs;
}

export type RefResolution =
  | { ok: true; target: unknown; docId: string; doc: Schema }
  /** "not-uri": the $ref does not parse; "no-doc": `docOf` knows no such document; "anchor": a fragment that is not a pointer; "nowhere": the pointer leads nowhere. */
  | { ok: false; why: 'not-uri' | 'no-doc' | 'anchor' | 'nowhere' };

/**
 * Resolves `ref` against `base`. `docOf` gets the document's URI (without fragment) and answers the
 * document. `target` is what the pointer reaches (the whole document when there is no fragment), not
 * checked to be a schema.
 */
export function resolveRef(ref: string, base: string, docOf: (docId: string) => Schema | undefined): RefResolution {
  let url: URL;
  try {
    url = new URL(ref, base);
  } catch {
    return { ok: false, why: 'not-uri' };
  }
  const hash = url.hash;
  url.hash = '';
  const docId = url.href;
  const doc = docOf(docId);
  if (doc === undefined) return { ok: false, why: 'no-doc' };
  let target: unknown = doc;
  if (hash.length > 1) {
    if (!hash.startsWith('#/')) return { ok: false, why: 'anchor' };
    for (const raw of hash.slice(2).split('/')) {
      const k = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      if (target === null || typeof target !== 'object' || !Object.hasOwn(target, k)) return { ok: false, why: 'nowhere' };
      target = (target as Record<string, unknown>)[k];
    }
  }
  return { ok: true, target, docId, doc };
}
