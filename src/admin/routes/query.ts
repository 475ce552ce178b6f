/** Small shared pieces of the admin routes' inputs. */
import { parseTime } from '../../core/time.ts';
import { badInput } from '../errors.ts';

/** RFC 3339 `from`/`to` of a query; `from` must come before `to`. */
export function timeRange(from: string | undefined, to: string | undefined): { from?: Date; to?: Date } {
  const read = (value: string | undefined, name: string): Date | undefined => {
    if (value === undefined || value === '') return undefined;
    const ms = parseTime(value);
    if (!Number.isFinite(ms)) throw badInput(`"${name}" must be an RFC 3339 time such as 2026-11-25T00:00:00Z, got ${JSON.stringify(value)}`, { field: name });
    return new Date(ms);
  };
  const f = read(from, 'from');
  const t = read(to, 'to');
  if (f && t && f.getTime() >= t.getTime()) throw badInput('"from" must be before "to"', { field: 'from' });
  return { ...(f ? { from: f } : {}), ...(t ? { to: t } : {}) };
}

/** Copies the keys whose value is a non-empty string. */
export function given<K extends string>(query: Partial<Record<K, string>>, keys: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const k of keys) {
    const v = query[k];
    if (typeof v === 'string' && v !== '') out[k] = v;
  }
  return out;
}

export const text = { type: 'string', maxLength: 500 } as const;
export const limit = { type: 'integer', minimum: 1, maximum: 500, default: 50 } as const;
export const cursor = { type: 'string', maxLength: 200 } as const;
