/**
 * Value semantics of jsonata 2.2.2, ported line by line from utils.js, functions.js and the evaluator
 * (isNumeric, isDeepEqual, $string, $boolean, the operators). Compiled code calls these on the slow
 * branch of every operation; the generated fast branches must agree with them exactly.
 */
import { bail, fail, relocate } from './errors.ts';

const hasOwn = Object.prototype.hasOwnProperty;

/** jsonata's isNumeric: NaN is "not a number", while ±Infinity is an error (D1001) wherever it is asked. */
export function isNumeric(n: unknown): n is number {
  if (typeof n !== 'number') return false;
  if (n !== n) return false;
  if (!isFinite(n)) throw fail('D1001', { value: n });
  return true;
}

export function isFunction(v: any): boolean {
  return (v && (v._jsonata_function === true || v._jsonata_lambda === true)) || typeof v === 'function';
}

/**
 * Every value read from the input or the bindings passes here. jsonata awaits each intermediate result
 * (so a thenable would be resolved), treats _jsonata_* objects as functions and unwraps flagged
 * sequences; none of that is worth replicating for JSON data, so such values leave the fast path.
 */
export function checkRead(v: any): unknown {
  if (typeof v === 'object') {
    if (v !== null && (typeof v.then === 'function' || v._jsonata_function === true || v._jsonata_lambda === true || (Array.isArray(v) && (v as { sequence?: unknown }).sequence === true))) bail();
    return v;
  }
  if (typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint') bail();
  return v;
}

/** The root input: an array would make jsonata map paths and group object constructors over its items. */
export function badRoot(v: any): boolean {
  if (typeof v === 'object') {
    return v !== null && (Array.isArray(v) || typeof v.then === 'function' || v._jsonata_function === true || v._jsonata_lambda === true);
  }
  return typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint';
}

/**
 * One name step of a path. jsonata would map over an array (and flatten), so any array met on the way
 * bails; on anything that is not an object the step yields nothing, exactly like fn.lookup.
 */
export function step(v: any, key: string): unknown {
  if (typeof v !== 'object' || v === null) return undefined;
  if (Array.isArray(v)) bail();
  if (!hasOwn.call(v, key)) return undefined;
  const r = v[key];
  if (Array.isArray(r)) bail();
  return checkRead(r);
}

export const EMPTY_BINDINGS: Record<string, unknown> = Object.freeze(Object.create(null));
const isEnumerable = Object.prototype.propertyIsEnumerable;

/** Names jsonata binds in its static and per-expression frames; reading one without calling it yields a function. */
export const BUILTIN_NAMES: ReadonlySet<string> = new Set([
  'sum', 'count', 'max', 'min', 'average', 'string', 'substring', 'substringBefore', 'substringAfter', 'lowercase',
  'uppercase', 'length', 'trim', 'pad', 'match', 'contains', 'replace', 'split', 'join', 'formatNumber', 'formatBase',
  'formatInteger', 'parseInteger', 'number', 'floor', 'ceil', 'round', 'abs', 'sqrt', 'power', 'random', 'boolean',
  'not', 'map', 'zip', 'filter', 'single', 'reduce', 'sift', 'keys', 'lookup', 'append', 'exists', 'spread', 'merge',
  'reverse', 'each', 'error', 'assert', 'type', 'sort', 'shuffle', 'distinct', 'base64encode', 'base64decode',
  'encodeUrlComponent', 'encodeUrl', 'decodeUrlComponent', 'decodeUrl', 'eval', 'toMillis', 'fromMillis', 'clone',
  'now', 'millis',
]);

/** jsonata binds Object.keys(bindings): own enumerable names only, looked up before the built-ins. */
export function hasBinding(b: object, name: string): boolean {
  return isEnumerable.call(b, name);
}

export function readVar(b: any, name: string): unknown {
  if (isEnumerable.call(b, name)) return checkRead(b[name]);
  if (BUILTIN_NAMES.has(name)) bail();
  return undefined;
}

function stringReplacer(_key: string, val: any): unknown {
  if (typeof val !== 'undefined' && val !== null && isNumeric(val)) {
    return !Number.isInteger(val) ? Number(val.toPrecision(15)) : val;
  }
  return val && isFunction(val) ? '' : val;
}

/** fn.string: 15 significant digits for non-integers, D3001 for non-finite numbers. */
export function toStr(arg: unknown, prettify: unknown = false): string | undefined {
  if (typeof arg === 'undefined') return undefined;
  if (typeof arg === 'string') return arg;
  if (isFunction(arg)) return '';
  if (typeof arg === 'number' && !isFinite(arg)) throw fail('D3001', { value: arg });
  return JSON.stringify(arg, stringReplacer, prettify ? 2 : 0);
}

/** fn.boolean: undefined stays undefined; arrays are true when any member is. */
export function toBool(arg: any): boolean | undefined {
  if (typeof arg === 'undefined') return undefined;
  if (typeof arg === 'boolean') return arg;
  if (Array.isArray(arg)) {
    if (arg.length === 1) return toBool(arg[0]);
    if (arg.length > 1) return arg.filter((v) => toBool(v)).length > 0;
    return false;
  }
  if (typeof arg === 'string') return arg.length > 0;
  if (isNumeric(arg)) return arg !== 0;
  if (arg !== null && typeof arg === 'object' && !isFunction(arg)) return Object.keys(arg).length > 0;
  return false;
}

/** `and`/`or` operands: undefined counts as false. */
export function boolize(v: unknown): boolean {
  return toBool(v) === true;
}

export function isDeepEqual(lhs: any, rhs: any): boolean {
  if (lhs === rhs) return true;
  if (typeof lhs === 'object' && typeof rhs === 'object' && lhs !== null && rhs !== null) {
    if (Array.isArray(lhs) && Array.isArray(rhs)) {
      if (lhs.length !== rhs.length) return false;
      for (let i = 0; i < lhs.length; i++) if (!isDeepEqual(lhs[i], rhs[i])) return false;
      return true;
    }
    const lkeys = Object.getOwnPropertyNames(lhs).sort();
    const rkeys = Object.getOwnPropertyNames(rhs).sort();
    if (lkeys.length !== rkeys.length) return false;
    for (let i = 0; i < lkeys.length; i++) if (lkeys[i] !== rkeys[i]) return false;
    for (const key of lkeys) if (!isDeepEqual(lhs[key], rhs[key])) return false;
    return true;
  }
  return false;
}

export function eq(l: unknown, r: unknown): boolean {
  return l !== undefined && r !== undefined && isDeepEqual(l, r);
}

export function neq(l: unknown, r: unknown): boolean {
  return l !== undefined && r !== undefined && !isDeepEqual(l, r);
}

/** The slow branch of + - * / %: type errors first (left before right), then undefined propagation. */
export function arith(op: string, l: unknown, r: unknown, pos: number): number | undefined {
  try {
    if (l !== undefined && !isNumeric(l)) throw fail('T2001', { value: l });
    if (r !== undefined && !isNumeric(r)) throw fail('T2002', { value: r });
  } catch (e) {
    throw relocate(e, pos, op);
  }
  if (l === undefined || r === undefined) return undefined;
  const a = l as number;
  const b = r as number;
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return a / b;
    default: return a % b;
  }
}

export function compare(op: string, l: unknown, r: unknown, pos: number): boolean | undefined {
  const lt = typeof l;
  const rt = typeof r;
  const lok = lt === 'undefined' || lt === 'string' || lt === 'number';
  const rok = rt === 'undefined' || rt === 'string' || rt === 'number';
  if (!lok || !rok) {
    throw fail('T2010', { value: !(lt === 'string' || lt === 'number') ? l : r, position: pos, token: op });
  }
  if (lt === 'undefined' || rt === 'undefined') return undefined;
  if (lt !== rt) throw fail('T2009', { value: l, value2: r, position: pos, token: op });
  const a = l as number;
  const b = r as number;
  switch (op) {
    case '<': return a < b;
    case '<=': return a <= b;
    case '>': return a > b;
    default: return a >= b;
  }
}

export function concat(l: unknown, r: unknown, pos: number): string {
  try {
    return (l === undefined ? '' : (toStr(l) as string)) + (r === undefined ? '' : (toStr(r) as string));
  } catch (e) {
    throw relocate(e, pos, '&');
  }
}

export function includes(l: unknown, r: unknown): boolean {
  if (l === undefined || r === undefined) return false;
  const list = Array.isArray(r) ? r : [r];
  for (let i = 0; i < list.length; i++) if (list[i] === l) return true;
  return false;
}

/** Unary minus: D1001 escapes without a position (jsonata does not catch it there), D1002 carries one. */
export function neg(v: unknown, pos: number): number | undefined {
  if (v === undefined) return undefined;
  if (isNumeric(v)) return -v;
  throw fail('D1002', { position: pos, token: '-', value: v });
}

/** Array constructor item: values of nested `[...]` items are kept whole, any other array is spliced in. */
export function appendItem(list: unknown[], v: unknown): unknown[] {
  return Array.isArray(v) ? list.concat(v) : (list.push(v), list);
}

/** jsonata builds objects on a null prototype, so "__proto__" is an ordinary own key there. */
export function setKey(o: Record<string, unknown>, key: string, v: unknown): void {
  Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
}
