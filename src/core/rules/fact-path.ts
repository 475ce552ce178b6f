import { JSONPath } from 'jsonpath-plus';

/**
 * json-rules-engine resolves `path` with jsonpath-plus (wrap: false), and only when the fact's value is an
 * object; otherwise the fact's value itself is compared. A plain `$.a.b` over plain objects is walked
 * directly; anything else (arrays, strings, filters, wildcards) goes to jsonpath-plus itself, so the
 * answer is always the one json-rules-engine would give.
 */
export type PathResolver = (factValue: unknown) => unknown;

const SIMPLE = /^\$(\.[A-Za-z_$][A-Za-z0-9_$]*)+$/;

export function compilePath(path: string | undefined): PathResolver {
  if (!path) return (v) => v;
  const slow = (v: unknown) => JSONPath({ path, json: v as object, wrap: false });
  const outer = (inner: (v: object) => unknown): PathResolver => (v) => (v != null && typeof v === 'object' ? inner(v) : v);
  if (!SIMPLE.test(path)) return outer(slow);
  const keys = path.slice(2).split('.');
  return outer((root) => {
    let cur: any = root;
    for (let i = 0; i < keys.length; i++) {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return slow(root);
      if (!Object.hasOwn(cur, keys[i])) return undefined;
      cur = cur[keys[i]];
    }
    return Array.isArray(cur) || cur === undefined ? slow(root) : cur;
  });
}
