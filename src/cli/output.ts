/** Printing helpers: text for people, JSON for programs, and a progress bar for terminals. */
import type { Writable } from 'node:stream';

export type OutputFormat = 'text' | 'json';

export function printJson(out: Writable, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function println(out: Writable, line = ''): void {
  out.write(`${line}\n`);
}

/** A value inline in a sentence: JSON, cut short when long. */
export function inline(v: unknown, max = 120): string {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export function num(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${num(n)} ${n === 1 ? word : many}`;
}

export const OK = '✓';
export const FAIL = '✗';

/** Rows of cells as aligned columns; `align` per column, "l" or "r" (default: first left, others right). */
export function table(rows: string[][], indent = '  ', align?: string): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  const left = (i: number) => (align ? align[i] !== 'r' : i === 0);
  return rows.map((r) => indent + r.map((c, i) => (left(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd());
}

/**
 * Records done, rate and ETA on one redrawn stderr line. Drawn only on a terminal (or when asked), at most
 * five times a second, and erased when done so it never ends up in logs or pipes.
 */
export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private readonly started = performance.now();
  private drawn = false;
  records = 0;

  constructor(
    private readonly out: Writable,
    private readonly bytes: () => number,
    private readonly total: number | undefined,
  ) {}

  start(): this {
    this.timer = setInterval(() => this.draw(), 200);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawn) this.out.write('\r\x1b[2K');
  }

  private draw(): void {
    const secs = (performance.now() - this.started) / 1000;
    const rate = secs > 0 ? this.records / secs : 0;
    let line = `  ${num(this.records)} records  ${num(Math.round(rate))} rec/s`;
    if (this.total) {
      const done = Math.min(1, this.bytes() / this.total);
      const width = 24;
      const fill = Math.round(done * width);
      const eta = done > 0 ? secs / done - secs : undefined;
      line = `  [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${(done * 100).toFixed(0).padStart(3)}%${line}${eta !== undefined ? `  ETA ${clock(eta)}` : ''}`;
    }
    this.out.write(`\r\x1b[2K${line}`);
    this.drawn = true;
  }
}

function clock(s: number): string {
  const t = Math.max(0, Math.round(s));
  const m = Math.floor(t / 60);
  return `${m}:${String(t % 60).padStart(2, '0')}`;
}
