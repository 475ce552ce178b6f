import type { RecordItem, Splitter } from './items.ts';

/**
 * NDJSON / JSON Lines: one JSON value per line; blank lines are skipped, a line that is not JSON becomes
 * a malformed item and the next line is read as usual. A line longer than `maxRecordChars` is not
 * buffered: it is reported and skipped up to its end, so one bad line cannot exhaust memory.
 */
export class NdjsonSplitter implements Splitter {
  private rest = '';
  private restBytes: Buffer | undefined;
  private line = 0;
  private skipping = false;
  constructor(private readonly maxRecordChars: number) {}

  /**
   * Lines found on the bytes (memchr) and decoded one by one: a chunk holding one non-Latin-1 character
   * would otherwise decode whole into a two-byte string, and every line sliced from it parses slower.
   */
  pushBytes(chunk: Buffer, out: RecordItem[]): void {
    let buf = chunk;
    if (this.restBytes) {
      buf = Buffer.concat([this.restBytes, chunk]);
      this.restBytes = undefined;
    }
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0) break;
      this.line++;
      if (this.skipping) this.skipping = false;
      else this.emit(buf.toString('utf8', start, nl), out);
      start = nl + 1;
    }
    if (start < buf.length && !this.skipping) {
      if (buf.length - start > this.maxRecordChars) {
        out.push({ ok: false, line: this.line + 1, error: `line is longer than ${this.maxRecordChars} characters` });
        this.skipping = true;
      } else this.restBytes = buf.subarray(start);
    }
  }

  push(text: string, out: RecordItem[]): void {
    const buf = this.rest.length ? this.rest + text : text;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf('\n', start);
      if (nl < 0) break;
      this.line++;
      if (this.skipping) this.skipping = false;
      else this.emit(buf.slice(start, nl), out);
      start = nl + 1;
    }
    this.rest = start === 0 ? buf : buf.slice(start);
    if (!this.skipping && this.rest.length > this.maxRecordChars) {
      out.push({ ok: false, line: this.line + 1, error: `line is longer than ${this.maxRecordChars} characters` });
      this.skipping = true;
    }
    if (this.skipping) this.rest = '';
  }

  end(out: RecordItem[]): void {
    const rest = this.restBytes ? this.restBytes.toString('utf8') : this.rest;
    if (rest.length && !this.skipping) {
      this.line++;
      this.emit(rest, out);
    }
    this.rest = '';
    this.restBytes = undefined;
  }

  private emit(text: string, out: RecordItem[]): void {
    const line = this.line;
    try {
      out.push({ ok: true, record: JSON.parse(text), line });
    } catch (e) {
      if (isBlank(text)) return;
      out.push({ ok: false, line, error: `invalid JSON: ${(e as Error).message}`, raw: text });
    }
  }
}

function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 0xfeff) return false;
  }
  return true;
}
