/** Small checks shared by the forwarder's factories: unknown options are rejected by name, numbers are checked. */
import { OptionsError } from '../../errors.js';

export function rejectUnknown(options: object, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new OptionsError(`${where}: unknown option "${key}" (known: ${allowed.join(', ')})`, { option: key, where });
    }
  }
}

export function checkNumber(
  value: unknown,
  option: string,
  where: string,
  { min = 0, integer = false, allowInfinity = false }: { min?: number; integer?: boolean; allowInfinity?: boolean } = {},
): number {
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    (Number.isFinite(value) || (allowInfinity && value === Infinity)) &&
    value >= min &&
    (!integer || !Number.isFinite(value) || Number.isInteger(value));
  if (!ok) {
    throw new OptionsError(`${where}: option "${option}" must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${JSON.stringify(value)}`, {
      option,
      where,
    });
  }
  return value as number;
}

export function checkString(value: unknown, option: string, where: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new OptionsError(`${where}: option "${option}" must be a non-empty string`, { option, where });
  }
  return value;
}

export function checkHeaders(value: unknown, where: string): Record<string, string> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new OptionsError(`${where}: option "headers" must be an object of strings`, { option: 'headers', where });
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new OptionsError(`${where}: header "${k}" must be a string`, { option: 'headers', where, header: k });
    }
    out[k.toLowerCase()] = v;
  }
  return out;
}

/** Splits a base URL into the origin (for the connection pool) and a path prefix without trailing slash. */
export function splitBaseUrl(
  value: unknown,
  option: string,
  where: string,
  { allowQuery = false }: { allowQuery?: boolean } = {},
): { origin: string; prefix: string; search: string } {
  const text = checkString(value, option, where);
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new OptionsError(`${where}: option "${option}" is not a valid URL: ${text}`, { option, where, cause: String(cause) });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OptionsError(`${where}: option "${option}" must be an http(s) URL`, { option, where });
  }
  if ((url.search !== '' && !allowQuery) || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new OptionsError(`${where}: option "${option}" must not carry ${allowQuery ? '' : 'a query, '}a fragment or credentials`, { option, where });
  }
  return { origin: url.origin, prefix: url.pathname.replace(/\/+$/, ''), search: url.search };
}
