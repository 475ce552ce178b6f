/**
 * The payload hash that tells a duplicate (same record sent again) from a conflict (same identity,
 * other content). Keys are sorted at every level, so a client that re-serialises a record with its keys
 * in another order still sends "the same" record. Bodies are depth-checked before they get here.
 */
import { hash } from 'node:crypto';

/** The reference definition: what the hash of every stored record was computed from. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + canonicalJson(value[i] === undefined ? null : value[i]);
    return `${out}]`;
  }
  const keys = Object.keys(value).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(k)}:${canonicalJson(v)}`;
    first = false;
  }
  return `${out}}`;
}

const BAIL = Symbol('bail');
/** Keys an object lists before all others whatever their insertion order (array indexes), and the one that sets a prototype. */
const SPECIAL_KEY = /^(?:0|[1-9][0-9]*|__proto__)$/;

/**
 * A copy of a JSON value with every object's keys inserted in sorted order, so that JSON.stringify
 * (native, fast) writes canonicalJson's text; BAIL for anything where the two could differ (index-like
 * or `__proto__` keys, objects that are not plain, values JSON has not).
 */
function sortedCopy(value: unknown): unknown {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return value;
    case 'object':
      break;
    default:
      return BAIL;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const v = value[i] === undefined ? null : sortedCopy(value[i]);
      if (v === BAIL) return BAIL;
      out[i] = v;
    }
    return out;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return BAIL;
  const keys = Object.keys(value);
  if (keys.length > 1) keys.sort();
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const first = k.charCodeAt(0);
    if (((first >= 48 && first <= 57) || first === 95) && SPECIAL_KEY.test(k)) return BAIL;
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined) continue;
    const c = sortedCopy(v);
    if (c === BAIL) return BAIL;
    out[k] = c;
  }
  return out;
}

/** canonicalJson's text, the fast way when it gives the same text (records parsed from JSON always do). */
export function canonicalText(value: unknown): string {
  const copy = sortedCopy(value);
  return copy === BAIL ? canonicalJson(value) : JSON.stringify(copy);
}

export function payloadHash(value: unknown): string {
  // crypto.hash: one call, no Hash object (Node >= 20.12; package.json asks for 20.18.1).
  return `sha256:${hash('sha256', canonicalText(value), 'hex')}`;
}
