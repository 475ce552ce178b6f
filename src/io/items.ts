/** One record read from a batch file or body, or the reason a piece of it could not be read. */
export type RecordItem = RecordRead | RecordMalformed;

export interface RecordRead {
  ok: true;
  record: unknown;
  /** 1-based line where the record starts (NDJSON, CSV, and JSON arrays too). */
  line?: number;
  /** 0-based position in a JSON array. */
  index?: number;
}

export interface RecordMalformed {
  ok: false;
  /** Why this line or element is not a record (the JSON or CSV parse error). */
  error: string;
  /** The text that failed, when there is one (may be long). */
  raw?: string;
  line?: number;
  index?: number;
}

export type InputFormat = 'ndjson' | 'json' | 'csv';
export const INPUT_FORMATS: readonly InputFormat[] = ['ndjson', 'json', 'csv'];

/** "line 12", "index 3 (line 40)" — how an item is pointed at in messages. */
export function itemPosition(item: { line?: number; index?: number }): string {
  if (item.index !== undefined) return item.line !== undefined ? `index ${item.index} (line ${item.line})` : `index ${item.index}`;
  return item.line !== undefined ? `line ${item.line}` : '';
}

/** A splitter turns text chunks (or, when it can, raw UTF-8 bytes) into items; `end` flushes what is left. */
export interface Splitter {
  push(text: string, out: RecordItem[]): void;
  /** Splitters that find record boundaries on bytes decode each record alone (faster than decoding whole chunks). */
  pushBytes?(bytes: Buffer, out: RecordItem[]): void;
  end(out: RecordItem[]): void;
}
