import { describe, it, expect } from 'vitest';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { parseTime } from '../../src/index.ts';
import { parseUtcFast } from '../../src/core/time.ts';
import { prng } from '../support/corpus.ts';

const full = (fullFormats['date-time'] as { validate: (s: string) => boolean }).validate;

describe('parseTime', () => {
  it('reads RFC 3339 like Date.parse where Date.parse is right', () => {
    for (const s of ['2026-11-25T12:00:00Z', '2026-11-25T12:00:00.1Z', '2026-11-25T12:00:00.123456Z', '2024-02-29T00:00:00Z', '2026-11-25T09:00:00-03:00', '2026-11-25t09:00:00z', '0000-01-01T00:00:00Z', '1970-01-01T00:00:00.999Z']) {
      expect(parseTime(s), s).toBe(Date.parse(s));
    }
  });
  it('reads years 0-99 on its fast path as the years they are, like Date.parse', () => {
    for (const s of ['0000-02-29T12:00:00.5Z', '0001-01-01T00:00:00Z', '0050-03-01T00:00:00Z', '0099-12-31T23:59:59Z']) expect(parseUtcFast(s)).toBe(Date.parse(s));
  });

  it('takes a leap second as the next second, and refuses days that do not exist', () => {
    expect(parseTime('2026-11-24T23:59:60Z')).toBe(Date.parse('2026-11-25T00:00:00Z'));
    expect(parseTime('2026-11-24T20:59:60.5-03:00')).toBe(Date.parse('2026-11-25T00:00:00Z'));
    expect(parseTime('2026-02-29T00:00:00Z')).toBeNaN();
    expect(parseTime('2026-02-30T00:00:00-03:00')).toBeNaN();
    expect(parseTime('2026-13-01T00:00:00Z')).toBeNaN();
    expect(parseTime('yesterday')).toBeNaN();
    expect(parseTime(42)).toBeNaN();
  });
  it('its fast path never says valid where ajv-formats says invalid (200,000 generated strings)', () => {
    const rand = prng(9);
    const pick = (s: string) => s[Math.floor(rand() * s.length)];
    let fast = 0;
    for (let i = 0; i < 200_000; i++) {
      const d = (n: number) => Array.from({ length: n }, () => pick(rand() < 0.97 ? '0123456789' : '0123456789:-TZ. ')).join('');
      // Fields near their limits: month 00-19, day 00-39, hour 00-29, minute and second 00-69.
      const f = (max: number) => (rand() < 0.97 ? String(Math.floor(rand() * max)).padStart(2, '0') : d(2));
      const s = rand() < 0.9 ? `${d(4)}-${f(20)}-${f(40)}T${f(30)}:${f(70)}:${f(70)}${rand() < 0.3 ? `.${d(1 + Math.floor(rand() * 6))}` : ''}Z` : d(20 + Math.floor(rand() * 8));
      const t = parseUtcFast(s);
      if (t === t) {
        fast++;
        expect(full(s), s).toBe(true);
        expect(t, s).toBe(Date.parse(s));
      }
    }
    expect(fast).toBeGreaterThan(1000);
  });
});
