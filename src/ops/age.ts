/** Ages as people write them in flags and config files: `90d`, `12h`, `2w`, `30m`. */
import { OptionsError } from '../errors.ts';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds of an age such as `90d`; refuses anything else naming `option`. */
export function parseAge(text: string, option = 'age'): number {
  const m = typeof text === 'string' ? /^\s*([0-9]+)\s*(ms|s|m|h|d|w)\s*$/.exec(text) : null;
  const ms = m ? Number(m[1]) * UNITS[m[2]] : NaN;
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new OptionsError(`${option} must be an age such as 90d, 12h or 2w (units: ms, s, m, h, d, w), got ${JSON.stringify(text)}`, { option });
  }
  return ms;
}

/** The start (00:00 UTC) of the day holding `ms`. */
export function utcDayStart(ms: number): number {
  return Math.floor(ms / UNITS.d) * UNITS.d;
}

/** `YYYY-MM-DD` of the UTC day holding `ms`. */
export function utcDay(ms: number): string {
  return new Date(utcDayStart(ms)).toISOString().slice(0, 10);
}

export const DAY_MS = UNITS.d;
