/**
 * The built-in functions compiled code may call, with jsonata 2.2.2's signatures and implementations
 * (functions.js). The async ones there ($contains, $split, $replace) are synchronous here because a
 * regex or function argument never reaches them: the compiler refuses regex literals and lambdas, and
 * a function value read from the bindings bails.
 */
import { bail, fail, relocateCall } from './errors.ts';
import { parseSignature, type Signature } from './signature.ts';
import { checkRead, isFunction, toBool, toStr } from './values.ts';

const hasOwn = Object.prototype.hasOwnProperty;

function codePoints(str: string): string[] {
  const out: string[] = [];
  for (const c of str) out.push(c);
  return out;
}

function sum(args: number[] | undefined) {
  if (args === undefined) return undefined;
  let total = 0;
  args.forEach((n) => { total += n; });
  return total;
}

function count(args: unknown[] | undefined) {
  return args === undefined ? 0 : args.length;
}

function max(args: number[] | undefined) {
  return args === undefined || args.length === 0 ? undefined : Math.max(...args);
}

function min(args: number[] | undefined) {
  return args === undefined || args.length === 0 ? undefined : Math.min(...args);
}

function substring(str: string | undefined, start: number, length?: number) {
  if (str === undefined) return undefined;
  const chars = codePoints(str);
  if (chars.length + start < 0) start = 0;
  if (length !== undefined) {
    if (length <= 0) return '';
    const end = start >= 0 ? start + length : chars.length + start + length;
    return chars.slice(start, end).join('');
  }
  return chars.slice(start).join('');
}

function substringBefore(str: string | undefined, chars: string) {
  if (str === undefined) return undefined;
  const pos = str.indexOf(chars);
  return pos > -1 ? str.substr(0, pos) : str;
}

function substringAfter(str: string | undefined, chars: string) {
  if (str === undefined) return undefined;
  const pos = str.indexOf(chars);
  return pos > -1 ? str.substr(pos + chars.length) : str;
}

function trim(str: string | undefined) {
  if (str === undefined) return undefined;
  let result = str.replace(/[ \t\n\r]+/gm, ' ');
  if (result.charAt(0) === ' ') result = result.substring(1);
  if (result.charAt(result.length - 1) === ' ') result = result.substring(0, result.length - 1);
  return result;
}

function contains(str: string | undefined, token: unknown) {
  if (str === undefined || token === undefined) return undefined;
  if (typeof token !== 'string') bail();
  return str.indexOf(token) !== -1;
}

function replace(str: string | undefined, pattern: unknown, replacement: unknown, limit?: number) {
  if (str === undefined) return undefined;
  if (pattern === '') throw fail('D3010', { value: pattern, index: 2 });
  if ((limit as number) < 0) throw fail('D3011', { value: limit, index: 4 });
  if (limit !== undefined && !(limit > 0)) return str;
  // A missing pattern makes jsonata call undefined as a matcher (a TypeError); a function replacement is never seen here.
  if (typeof pattern !== 'string' || isFunction(replacement)) bail();
  let result = '';
  let position = 0;
  let n = 0;
  let index = str.indexOf(pattern, position);
  while (index !== -1 && (limit === undefined || n < limit)) {
    result += str.substring(position, index);
    result += replacement; // jsonata appends it as is: an undefined replacement really becomes "undefined"
    position = index + pattern.length;
    n++;
    index = str.indexOf(pattern, position);
  }
  return result + str.substring(position);
}

function split(str: string | undefined, separator: unknown, limit?: number) {
  if (str === undefined) return undefined;
  if ((limit as number) < 0) throw fail('D3020', { value: limit, index: 3 });
  if (limit !== undefined && !(limit > 0)) return [];
  if (typeof separator !== 'string') bail();
  return str.split(separator, limit);
}

function join(strs: string[] | undefined, separator?: string) {
  if (strs === undefined) return undefined;
  return strs.join(separator === undefined ? '' : separator);
}

export function toNumber(arg: unknown) {
  if (arg === undefined) return undefined;
  if (typeof arg === 'number') return arg;
  if (typeof arg === 'string' && /^-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?$/.test(arg) && !isNaN(parseFloat(arg)) && isFinite(arg as unknown as number)) {
    return parseFloat(arg);
  }
  if (typeof arg === 'string' && /^(0[xX][0-9A-Fa-f]+)|(0[oO][0-7]+)|(0[bB][0-1]+)$/.test(arg)) return Number(arg);
  if (arg === true) return 1;
  if (arg === false) return 0;
  throw fail('D3030', { value: arg, index: 1 });
}

/** Round half to even; the decimal shift goes through the string form, as jsonata does, so 2.675 → 2.68 at 2 places. */
export function round(arg: number | undefined, precision?: number) {
  if (arg === undefined) return undefined;
  if (precision) {
    const v = arg.toString().split('e');
    arg = +(v[0] + 'e' + (v[1] ? +v[1] + precision : precision));
  }
  let result = Math.round(arg);
  const diff = result - arg;
  if (Math.abs(diff) === 0.5 && Math.abs(result % 2) === 1) result = result - 1;
  if (precision) {
    const v = result.toString().split('e');
    result = +(v[0] + 'e' + (v[1] ? +v[1] - precision : -precision));
  }
  return Object.is(result, -0) ? 0 : result;
}

function lookup(input: any, key: string) {
  // On an array jsonata maps and returns a sequence; not worth replicating.
  if (Array.isArray(input)) bail();
  if (input !== null && typeof input === 'object' && hasOwn.call(input, key) && !isFunction(input)) return checkRead(input[key]);
  return undefined;
}

type Impl = (...args: any[]) => unknown;

interface Builtin {
  signature: Signature;
  impl: Impl;
}

const undefOr = <T>(f: (x: any) => T) => (x: unknown) => (x === undefined ? undefined : f(x));

const table: Record<string, [string, Impl]> = {
  sum: ['<a<n>:n>', sum],
  count: ['<a:n>', count],
  max: ['<a<n>:n>', max],
  min: ['<a<n>:n>', min],
  string: ['<x-b?:s>', toStr],
  substring: ['<s-nn?:s>', substring],
  substringBefore: ['<s-s:s>', substringBefore],
  substringAfter: ['<s-s:s>', substringAfter],
  lowercase: ['<s-:s>', undefOr((s: string) => s.toLowerCase())],
  uppercase: ['<s-:s>', undefOr((s: string) => s.toUpperCase())],
  length: ['<s-:n>', undefOr((s: string) => codePoints(s).length)],
  trim: ['<s-:s>', trim],
  contains: ['<s-(sf):b>', contains],
  replace: ['<s-(sf)(sf)n?:s>', replace],
  split: ['<s-(sf)n?:a<s>>', split],
  join: ['<a<s>s?:s>', join],
  number: ['<(nsb)-:n>', toNumber],
  floor: ['<n-:n>', undefOr(Math.floor)],
  ceil: ['<n-:n>', undefOr(Math.ceil)],
  round: ['<n-n?:n>', round],
  abs: ['<n-:n>', undefOr(Math.abs)],
  boolean: ['<x-:b>', toBool],
  not: ['<x-:b>', (x: unknown) => (x === undefined ? undefined : !toBool(x))],
  exists: ['<x:b>', (x: unknown) => x !== undefined],
  lookup: ['<x-s:x>', lookup],
};

export const BUILTINS: ReadonlyMap<string, Builtin> = new Map(
  Object.entries(table).map(([name, [sig, impl]]) => [name, { signature: parseSignature(sig), impl }]),
);

/** The generic path of a call: validate as jsonata does (context substitution included), run, stamp errors with the call site. */
export function call(name: string, args: unknown[], context: unknown, position: number): unknown {
  const fn = BUILTINS.get(name) as Builtin;
  try {
    return fn.impl(...fn.signature.validate(args, context));
  } catch (e) {
    throw relocateCall(e, position, name);
  }
}
