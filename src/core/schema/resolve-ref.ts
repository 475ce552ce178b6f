/**
 * `$ref` resolution shared by the schema readers (fast-check.ts, walk-schema.ts): resolves the reference
 * against a base URI, finds the document it names, and follows the JSON pointer in its fragment.
 */
type Schema = Record<string, unknown> | boolean;

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
