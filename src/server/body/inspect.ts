/**
 * Checks a parsed body before anything else touches it: nesting depth (recursive code downstream —
 * schema validation, hashing, JSON.stringify — must not overflow the stack) and prototype-pollution
 * shapes (`__proto__` anywhere, `constructor.prototype`). JSON.parse makes `__proto__` an own property,
 * harmless by itself, but any later spread or merge of the record would set a prototype. Iterative.
 */
export interface ShapeProblem {
  kind: 'depth' | 'key';
  /** JSON pointer of the offending place. */
  path: string;
  message: string;
}

interface Node {
  v: object;
  depth: number;
  parent: Node | undefined;
  key: string;
}

export function inspectShape(value: unknown, maxDepth: number): ShapeProblem | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const stack: Node[] = [{ v: value, depth: 1, parent: undefined, key: '' }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const { v, depth } = node;
    if (depth > maxDepth) {
      const path = pointer(node);
      return { kind: 'depth', path, message: `the body nests deeper than ${maxDepth} levels (at ${path})` };
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const c = v[i];
        if (typeof c === 'object' && c !== null) stack.push({ v: c, depth: depth + 1, parent: node, key: String(i) });
      }
      continue;
    }
    for (const k in v) {
      const c = (v as Record<string, unknown>)[k];
      if (k === '__proto__' || (k === 'constructor' && typeof c === 'object' && c !== null && Object.hasOwn(c, 'prototype'))) {
        const path = pointer({ v: c as object, depth, parent: node, key: k });
        return { kind: 'key', path, message: `the key "${k}" is not allowed (at ${path})` };
      }
      if (typeof c === 'object' && c !== null) stack.push({ v: c, depth: depth + 1, parent: node, key: k });
    }
  }
  return undefined;
}

function pointer(node: Node): string {
  const parts: string[] = [];
  for (let n: Node | undefined = node; n?.parent; n = n.parent) parts.push(n.key.replaceAll('~', '~0').replaceAll('/', '~1'));
  return parts.length ? `/${parts.reverse().join('/')}` : '/';
}
