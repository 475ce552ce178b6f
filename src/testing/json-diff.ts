/** A small readable JSON diff: one entry per differing path, with what was expected and what was there. */
export interface DiffEntry {
  /** JSONPath-like: $, $.quantity, $.items[0].sku, $["odd key"] */
  path: string;
  /** changed: both present and different; missing: expected but absent; unexpected: present but not expected (exact match only). */
  kind: 'changed' | 'missing' | 'unexpected';
  expected?: unknown;
  actual?: unknown;
}

/**
 * Compares `actual` with `expected`. Partial: only what `expected` names is compared (objects may have more
 * keys; arrays must have the same length, each element compared partially). Exact: everything.
 */
export function jsonDiff(expected: unknown, actual: unknown, options: { partial?: boolean } = {}): DiffEntry[] {
  const out: DiffEntry[] = [];
  walk(expected, actual, '$', !!options.partial, out);
  return out;
}

function walk(e: unknown, a: unknown, path: string, partial: boolean, out: DiffEntry[]): void {
  if (isObject(e) && isObject(a)) {
    for (const k of Object.keys(e)) {
      const p = child(path, k);
      if (!Object.hasOwn(a, k)) out.push({ path: p, kind: 'missing', expected: e[k] });
      else walk(e[k], a[k], p, partial, out);
    }
    if (!partial) for (const k of Object.keys(a)) if (!Object.hasOwn(e, k)) out.push({ path: child(path, k), kind: 'unexpected', actual: a[k] });
    return;
  }
  if (Array.isArray(e) && Array.isArray(a)) {
    if (e.length !== a.length) {
      out.push({ path, kind: 'changed', expected: e, actual: a });
      return;
    }
    for (let i = 0; i < e.length; i++) walk(e[i], a[i], `${path}[${i}]`, partial, out);
    return;
  }
  if (!sameScalar(e, a)) out.push({ path, kind: a === undefined ? 'missing' : 'changed', expected: e, actual: a });
}

function sameScalar(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function child(path: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** "  $.quantity: expected 3, got 2" lines. */
export function formatDiff(entries: DiffEntry[], indent = '    '): string[] {
  const show = (v: unknown) => {
    const s = JSON.stringify(v);
    return s === undefined ? 'undefined' : s.length > 200 ? `${s.slice(0, 199)}…` : s;
  };
  return entries.map((d) =>
    d.kind === 'missing'
      ? `${indent}${d.path}: missing (expected ${show(d.expected)})`
      : d.kind === 'unexpected'
        ? `${indent}${d.path}: not expected (got ${show(d.actual)})`
        : `${indent}${d.path}: expected ${show(d.expected)}, got ${show(d.actual)}`,
  );
}
