/**
 * Streaming readers of batch files and request bodies: NDJSON / JSON Lines, JSON arrays and CSV, each
 * optionally gzip-compressed. Records come out in input order, in batches (what one input chunk held),
 * and memory stays flat whatever the input's size: only the current chunk and one partial record are held.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { BilhetagemError, ErrorCodes } from '../errors.ts';
import { NdjsonSplitter } from './ndjson.ts';
import { JsonArraySplitter } from './json-array.ts';
import { CsvSplitter, UNTYPED, type CsvTyper } from './csv.ts';
import type { InputFormat, RecordItem, Splitter } from './items.ts';

export type { RecordItem, RecordRead, RecordMalformed, InputFormat } from './items.ts';
export { INPUT_FORMATS, itemPosition } from './items.ts';
export type { CsvTyper } from './csv.ts';

export interface ReadRecordsOptions {
  /** Default: from the first non-blank character: "[" JSON array, "{" NDJSON, anything else CSV. */
  format?: InputFormat;
  /** true: gunzip; false: plain; default: gunzip when the input starts with gzip's magic bytes. */
  gzip?: boolean;
  /** Types CSV cells (see createCsvTyper); default: every cell a string. */
  csvTyper?: CsvTyper;
  /** A longer line or element is reported as malformed and skipped, never buffered. Default 8 Mi characters. */
  maxRecordChars?: number;
}

export const READ_DEFAULTS = { maxRecordChars: 8 * 1024 * 1024 } as const;

/** Batches of items in input order. `input` is any byte stream: a file stream, stdin, a request body. */
export async function* readRecordBatches(input: AsyncIterable<Buffer | Uint8Array | string>, options: ReadRecordsOptions = {}): AsyncGenerator<RecordItem[]> {
  const max = options.maxRecordChars ?? READ_DEFAULTS.maxRecordChars;
  let splitter: Splitter | undefined;
  let started = false;
  const make = (format: InputFormat): Splitter =>
    format === 'ndjson' ? new NdjsonSplitter(max) : format === 'json' ? new JsonArraySplitter(max) : new CsvSplitter(options.csvTyper ?? UNTYPED, max);
  if (options.format) splitter = make(options.format);
  const decoder = new StringDecoder('utf8');
  let pending: Buffer | undefined;
  for await (const bytes of inflate(input, options.gzip)) {
    const out: RecordItem[] = [];
    let chunk = bytes;
    if (!splitter) {
      // Sniff the format from the first character that is not blank (or a BOM).
      chunk = pending ? Buffer.concat([pending, bytes]) : bytes;
      const at = firstNonBlank(chunk);
      if (at < 0) {
        pending = chunk;
        continue;
      }
      pending = undefined;
      const c = chunk[at];
      splitter = make(c === 0x5b ? 'json' : c === 0x7b ? 'ndjson' : 'csv');
    }
    if (!started) {
      started = true;
      // A UTF-8 byte order mark is not part of the data.
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
    }
    if (splitter.pushBytes) splitter.pushBytes(chunk, out);
    else {
      const text = decoder.write(chunk);
      if (text.length) splitter.push(text, out);
    }
    if (out.length) yield out;
  }
  const out: RecordItem[] = [];
  if (!splitter && pending) splitter = make('ndjson');
  if (splitter) {
    if (!splitter.pushBytes) {
      const tail = decoder.end();
      if (tail) splitter.push(tail, out);
    }
    splitter.end(out);
  }
  if (out.length) yield out;
}

function firstNonBlank(b: Buffer): number {
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    // The BOM's bytes (EF BB BF) at the start.
    if (i < 3 && (c === 0xef || c === 0xbb || c === 0xbf)) continue;
    return i;
  }
  return -1;
}

/** One item at a time (see readRecordBatches). */
export async function* readRecords(input: AsyncIterable<Buffer | Uint8Array | string>, options: ReadRecordsOptions = {}): AsyncGenerator<RecordItem> {
  for await (const batch of readRecordBatches(input, options)) yield* batch;
}

/** The format and compression a file name implies: `.ndjson`/`.jsonl`, `.json`, `.csv`, each optionally `.gz`. */
export function formatFromPath(path: string): { format?: InputFormat; gzip?: boolean } {
  const lower = path.toLowerCase();
  const gzip = lower.endsWith('.gz') ? true : undefined;
  const base = gzip ? lower.slice(0, -3) : lower;
  const format: InputFormat | undefined = /\.(ndjson|jsonl|ldjson)$/.test(base) ? 'ndjson' : base.endsWith('.json') ? 'json' : base.endsWith('.csv') ? 'csv' : undefined;
  return { format, gzip };
}

export interface OpenedInput {
  /** The file's raw bytes as they are read. */
  chunks: AsyncIterable<Buffer>;
  /** Size in bytes, when known (not for stdin). */
  size: number | undefined;
  /** Raw (compressed) bytes read so far, for progress. */
  bytesRead(): number;
}

/** Opens a file, or stdin for "-". Fails with BLH_ERR_FILE_READ when the file cannot be read. */
export async function openInput(path: string, stdin?: Readable): Promise<OpenedInput> {
  let bytes = 0;
  const counted = async function* (src: AsyncIterable<Buffer>) {
    for await (const c of src) {
      bytes += c.length;
      yield c;
    }
  };
  if (path === '-') {
    if (!stdin) throw new BilhetagemError(ErrorCodes.FILE_READ, 'no stdin to read "-" from', { details: { file: '-' } });
    return { chunks: counted(stdin), size: undefined, bytesRead: () => bytes };
  }
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new Error('not a regular file');
    size = s.size;
  } catch (cause) {
    throw new BilhetagemError(ErrorCodes.FILE_READ, `cannot read ${path}: ${(cause as Error).message}`, { cause, details: { file: path } });
  }
  const stream = createReadStream(path, { highWaterMark: 128 * 1024 });
  const guarded = async function* () {
    try {
      yield* counted(stream);
    } catch (cause) {
      throw new BilhetagemError(ErrorCodes.FILE_READ, `cannot read ${path}: ${(cause as Error).message}`, { cause, details: { file: path } });
    }
  };
  return { chunks: guarded(), size, bytesRead: () => bytes };
}

/** The input's bytes, gunzipped when asked (or when the first bytes are gzip's magic number). */
async function* inflate(input: AsyncIterable<Buffer | Uint8Array | string>, gzip: boolean | undefined): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]();
  let first = await it.next();
  while (!first.done && first.value.length === 0) first = await it.next();
  if (first.done) return;
  const head = first.value;
  const rest: AsyncIterable<Buffer | Uint8Array | string> = {
    [Symbol.asyncIterator]: () => {
      let sentHead = false;
      return {
        next: () => (sentHead ? it.next() : ((sentHead = true), Promise.resolve({ done: false, value: head }))),
        return: (v?: unknown) => (it.return ? it.return(v) : Promise.resolve({ done: true, value: v })),
      } as AsyncIterator<Buffer | Uint8Array | string>;
    },
  };
  const isGzip = gzip ?? (typeof head !== 'string' && head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b);
  for await (const chunk of isGzip ? gunzip(rest) : rest) {
    if (typeof chunk === 'string') yield Buffer.from(chunk);
    else yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}

async function* gunzip(src: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<Buffer> {
  const z = createGunzip({ chunkSize: 128 * 1024 });
  let failure: unknown;
  const feeding = pipeline(src, z).catch((e) => {
    failure = e;
  });
  try {
    for await (const c of z) yield c as Buffer;
  } catch (cause) {
    if (cause instanceof BilhetagemError) throw cause;
    throw new BilhetagemError(ErrorCodes.FILE_READ, `invalid gzip data: ${(cause as Error).message}`, { cause });
  }
  await feeding;
  if (failure) {
    if (failure instanceof BilhetagemError) throw failure;
    throw new BilhetagemError(ErrorCodes.FILE_READ, `invalid gzip data: ${(failure as Error).message}`, { cause: failure });
  }
}
