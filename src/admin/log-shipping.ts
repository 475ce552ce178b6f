/**
 * Ships pino's JSON lines to an HTTP log collector (Vector's `http_server` source, Fluent Bit's `http`
 * input, Logstash's `http` input, an OpenTelemetry collector's NDJSON receiver...), beside stdout:
 *
 *   const shipper = createLogShipper({ url: 'http://collector:8686/bilhetagem' });
 *   const logger = createLogger({ destination: pino.multistream([{ stream: process.stdout }, { stream: shipper }]) });
 *
 * Lines are batched (a POST of NDJSON every `flushIntervalMs` or every `batchSize` lines). A collector that
 * is down or slow never blocks or breaks the server: lines wait in a bounded buffer (the oldest are
 * dropped, and counted, beyond `maxBufferLines`) and are sent again with backoff. It never logs itself.
 */
import { Writable } from 'node:stream';
import { OptionsError } from '../errors.ts';

export interface LogShipperOptions {
  /** Where the NDJSON batches are POSTed (http or https). */
  url: string;
  /** Extra headers, e.g. `{ authorization: 'Bearer ...' }`. */
  headers?: Record<string, string>;
  /** Lines per POST at most. Default 500. */
  batchSize?: number;
  /** How often waiting lines are sent, ms. Default 1000. */
  flushIntervalMs?: number;
  /** Lines kept while the collector is unreachable; beyond it the oldest are dropped. Default 10 000. */
  maxBufferLines?: number;
  /** A POST that takes longer is abandoned (and retried), ms. Default 5000. */
  timeoutMs?: number;
  /** For tests. Default: the global fetch. */
  fetch?: typeof fetch;
}

export interface LogShipperStats {
  sent: number;
  dropped: number;
  failedRequests: number;
  waiting: number;
}

export interface LogShipper extends Writable {
  /** Sends what waits now; resolves when the collector took it or the attempt failed (the lines stay). */
  flush(): Promise<void>;
  stats(): LogShipperStats;
}

const KNOWN = ['url', 'headers', 'batchSize', 'flushIntervalMs', 'maxBufferLines', 'timeoutMs', 'fetch'];
const MAX_BACKOFF_MS = 30_000;

export function createLogShipper(options: LogShipperOptions): LogShipper {
  for (const key of Object.keys(options ?? {})) if (!KNOWN.includes(key)) throw new OptionsError(`unknown log shipping option "${key}" (known: ${KNOWN.join(', ')})`, { option: key });
  let url: URL;
  try {
    url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new OptionsError(`log shipping "url" must be an http(s) URL, got ${JSON.stringify(options.url)}`, { option: 'url' });
  }
  const batchSize = options.batchSize ?? 500;
  const interval = options.flushIntervalMs ?? 1000;
  const maxLines = options.maxBufferLines ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 5000;
  const send = options.fetch ?? fetch;
  const headers = { 'content-type': 'application/x-ndjson', ...options.headers };

  const lines: string[] = [];
  let partial = '';
  const counts = { sent: 0, dropped: 0, failedRequests: 0 };
  let inFlight: Promise<void> | undefined;
  let retryAt = 0;
  let backoff = interval;

  const keep = (added: string[]) => {
    lines.push(...added);
    if (lines.length > maxLines) counts.dropped += lines.splice(0, lines.length - maxLines).length;
  };

  async function post(batch: string[]): Promise<boolean> {
    try {
      const res = await send(url, { method: 'POST', headers, body: batch.join('\n') + '\n', signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel().catch(() => undefined);
      return res.ok;
    } catch {
      return false;
    }
  }

  function flush(): Promise<void> {
    inFlight ??= (async () => {
      try {
        while (lines.length > 0 && Date.now() >= retryAt) {
          const batch = lines.splice(0, batchSize);
          if (await post(batch)) {
            counts.sent += batch.length;
            backoff = interval;
          } else {
            counts.failedRequests += 1;
            // Back at the front, in order, for the next try; a full buffer drops the oldest.
            lines.unshift(...batch);
            if (lines.length > maxLines) counts.dropped += lines.splice(0, lines.length - maxLines).length;
            retryAt = Date.now() + backoff;
            backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
          }
        }
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  }

  const timer = setInterval(() => void flush(), interval);
  timer.unref();

  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      const text = partial + chunk.toString();
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      keep(parts.filter((l) => l !== ''));
      if (lines.length >= batchSize) void flush();
      done();
    },
    final(done) {
      clearInterval(timer);
      if (partial) keep([partial]);
      partial = '';
      retryAt = 0;
      flush().then(() => done(), () => done());
    },
    destroy(error, done) {
      clearInterval(timer);
      done(error);
    },
  }) as LogShipper;
  stream.flush = () => {
    retryAt = 0;
    return flush();
  };
  stream.stats = () => ({ ...counts, waiting: lines.length });
  return stream;
}
