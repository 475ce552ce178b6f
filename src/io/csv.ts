import type { RecordItem, Splitter } from './items.ts';

/**
 * Types one CSV cell: given the record's `type` and a header's keys (["data", "duration_s"]), returns the
 * converter for that column. See createCsvTyper (csv-types.ts) for the one driven by the record schemas.
 */
export type CsvTyper = (type: unknown, keys: readonly string[]) => (cell: string) => unknown;

const asString = (cell: string) => cell;
export const UNTYPED: CsvTyper = () => asString;

/**
 * CSV (RFC 4180) with a header row. Dotted headers (`data.duration_s`) build nested fields, empty cells are
 * left out, and each cell is typed by the typer. A record that does not parse (a stray quote, the wrong
 * number of fields) is a malformed item naming its line, and the next record is read as usual.
 *
 * Our own scanner rather than csv-parse: csv-parse, when it skips a record with a quoting error, also
 * loses the record after it, and costs ~15 µs a record where this costs ~1.
 */
export class CsvSplitter implements Splitter {
  private fields: string[] = [];
  private field = '';
  private inQuotes = false;
  private afterQuote = false;
  private error: string | undefined;
  private raw = '';
  private line = 1;
  private recordLine = 1;
  private header: { keys: string[][]; typeColumn: number } | undefined;
  private converters = new Map<unknown, ((cell: string) => unknown)[]>();
  private started = false;

  constructor(
    private readonly typer: CsvTyper,
    private readonly maxRecordChars: number,
  ) {}

  push(text: string, out: RecordItem[]): void {
    let i = 0;
    const n = text.length;
    let segment = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (this.inQuotes) {
        if (c === 34) {
          this.inQuotes = false;
          this.afterQuote = true;
        } else {
          // Fast path: copy up to the next quote in one slice.
          const q = text.indexOf('"', i);
          const end = q < 0 ? n : q;
          const piece = text.slice(i, end);
          this.field += piece;
          for (let k = 0; k < piece.length; k++) if (piece.charCodeAt(k) === 10) this.line++;
          i = end;
          continue;
        }
      } else if (c === 44) {
        this.fields.push(this.field);
        this.field = '';
        this.afterQuote = false;
      } else if (c === 10) {
        this.raw += text.slice(segment, i);
        segment = i + 1;
        this.endRecord(out);
        this.line++;
        this.recordLine = this.line;
      } else if (c === 34) {
        if (this.afterQuote) {
          // "" inside a quoted field: a literal quote, and the field goes on quoted.
          this.field += '"';
          this.inQuotes = true;
          this.afterQuote = false;
        } else if (this.field.length === 0) this.inQuotes = true;
        else this.field += '"';
      } else if (c === 13 && (i + 1 < n ? text.charCodeAt(i + 1) === 10 : true)) {
        // CR of a CRLF (or the last char of the chunk: dropped, a lone CR at a chunk edge is harmless).
      } else {
        if (this.afterQuote && this.error === undefined) this.error = `unexpected ${JSON.stringify(text[i])} after a closing quote (line ${this.line})`;
        // Fast path: an unquoted run up to the next delimiter.
        let j = i + 1;
        while (j < n) {
          const d = text.charCodeAt(j);
          if (d === 44 || d === 10 || d === 13 || d === 34) break;
          j++;
        }
        this.field += text.slice(i, j);
        i = j;
        continue;
      }
      i++;
    }
    if (segment < n) this.raw += text.slice(segment);
    if (this.raw.length > this.maxRecordChars && this.error === undefined) {
      this.error = `record is longer than ${this.maxRecordChars} characters`;
    }
    if (this.error !== undefined && this.raw.length > this.maxRecordChars) {
      // Keep scanning to the record's end, but hold none of it.
      this.raw = '';
      this.field = '';
      this.fields = [];
    }
  }

  end(out: RecordItem[]): void {
    if (this.inQuotes) {
      this.error ??= `a quoted field opened on line ${this.recordLine} is never closed`;
      this.inQuotes = false;
    }
    if (this.field.length || this.fields.length || this.error) this.endRecord(out);
  }

  private endRecord(out: RecordItem[]): void {
    this.fields.push(this.field);
    const fields = this.fields;
    const raw = this.raw;
    const error = this.error;
    this.fields = [];
    this.field = '';
    this.raw = '';
    this.error = undefined;
    this.afterQuote = false;
    const line = this.recordLine;
    if (!this.started) {
      this.started = true;
      if (fields.length && fields[0].charCodeAt(0) === 0xfeff) fields[0] = fields[0].slice(1);
    }
    if (error === undefined && fields.length === 1 && fields[0] === '') return;
    if (error !== undefined) {
      out.push({ ok: false, line, error, raw: raw || undefined });
      return;
    }
    if (!this.header) {
      const keys = fields.map((f) => f.trim().split('.'));
      const bad = keys.findIndex((k) => k.some((s) => s === ''));
      if (bad >= 0) {
        out.push({ ok: false, line, error: `header column ${bad + 1} (${JSON.stringify(fields[bad])}) is not a field name`, raw });
        return;
      }
      this.header = { keys, typeColumn: keys.findIndex((k) => k.length === 1 && k[0] === 'type') };
      return;
    }
    const { keys, typeColumn } = this.header;
    if (fields.length !== keys.length) {
      out.push({ ok: false, line, error: `has ${fields.length} fields, the header has ${keys.length}`, raw });
      return;
    }
    const type = typeColumn >= 0 ? fields[typeColumn] : undefined;
    let conv = this.converters.get(type);
    if (!conv) {
      conv = keys.map((k) => this.typer(type, k));
      if (this.converters.size < 1000) this.converters.set(type, conv);
    }
    const record: Record<string, unknown> = {};
    for (let f = 0; f < fields.length; f++) {
      const cell = fields[f];
      if (cell === '') continue;
      setPath(record, keys[f], conv[f](cell));
    }
    out.push({ ok: true, line, record });
  }
}

/** Sets a nested field; `__proto__` and friends become own properties, never prototypes. */
function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let cur = target;
  for (let i = 0; i < keys.length - 1; i++) {
    const k = keys[i];
    let next = Object.hasOwn(cur, k) ? cur[k] : undefined;
    if (next === null || typeof next !== 'object') {
      next = {};
      define(cur, k, next);
    }
    cur = next as Record<string, unknown>;
  }
  define(cur, keys[keys.length - 1], value);
}

function define(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}
