/**
 * The only place the forwarder touches the network: one undici Agent per target (a keep-alive pool for the
 * target's origin, as many connections as the target's concurrency) and one send = one request, with a few quick in-process retries
 * of connection errors (sendWithRetry). Answers, 5xx included, come back as they are; the outbox decides.
 */
import { Agent, util } from 'undici';
import type { Dispatcher } from 'undici';
import { isConnectionError, sendWithRetry } from './retry-policy.ts';
import type { TargetAnswer, TargetFailure, TargetRequest } from './targets/index.ts';

export interface Sender {
  /** Never throws: no answer is a `TargetFailure`. */
  send(req: TargetRequest): Promise<TargetAnswer | TargetFailure>;
  close(): Promise<void>;
}

export interface SenderOptions {
  connections: number;
  timeoutMs: number;
  /** How long an idle connection is kept, ms. Default 30 000 (capped by the server's keep-alive hint). */
  keepAliveTimeoutMs?: number;
  /** Tests and benchmarks may bring their own dispatcher; it is not closed by `close()`. */
  dispatcher?: Dispatcher;
}

/** Timeouts below this get an exact timer; longer ones use undici's (which may fire up to a second late). */
const EXACT_BELOW_MS = 2000;

/** Answers larger than this are cut: only an excerpt is ever stored. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export function createSender(options: SenderOptions): Sender {
  const own = options.dispatcher === undefined;
  const dispatcher: Dispatcher =
    options.dispatcher ??
    new Agent({
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
      keepAliveMaxTimeout: Math.max(options.keepAliveTimeoutMs ?? 30_000, 60_000),
    });
  const timeoutMs = options.timeoutMs;

  // undici's own headers/body timeouts tick at about one second: good enough for timeouts of seconds, and
  // free. A shorter timeout gets a timer of its own, which also bounds the whole exchange.
  const exact = timeoutMs < EXACT_BELOW_MS;
  const undiciTimeoutMs = exact ? timeoutMs + 1000 : timeoutMs;

  /**
   * One request, read straight off undici's dispatcher: no response stream, no async iterator, one promise.
   * Rejects when there is no answer (connection error, timeout); any status resolves.
   */
  function once(req: TargetRequest): Promise<TargetAnswer> {
    return new Promise<TargetAnswer>((resolve, reject) => {
      const handler = new AnswerHandler(resolve, reject);
      if (exact) handler.timer = setTimeout(() => handler.fail(timeoutError(timeoutMs)), timeoutMs);
      dispatcher.dispatch(
        { origin: req.origin, method: req.method, path: req.path, headers: req.headers, body: req.body, headersTimeout: undiciTimeoutMs, bodyTimeout: undiciTimeoutMs },
        handler,
      );
    });
  }

  function retried(first: unknown, request: TargetRequest): Promise<TargetAnswer | TargetFailure> | TargetFailure {
    if (!isConnectionError(first)) return { error: asError(first) };
    // A connection error (reset, refused) gets two quick retries here; p-retry only on this path, so the
    // common case costs one plain request. The body may have left before the error: the resend is safe
    // because of the idempotency key.
    return sendWithRetry<TargetAnswer | TargetFailure>(() => once(request), { retries: 1, minTimeoutMs: 25, maxTimeoutMs: 250, maxRetryTimeMs: timeoutMs }).catch((error: unknown) => ({
      error: asError(error),
    }));
  }

  return {
    send(request) {
      return once(request).catch((first: unknown) => retried(first, request));
    },
    async close() {
      if (own) await dispatcher.close();
    },
  };
}

/** undici's handler interface, for one request: collects the status, headers and (at most MAX_ANSWER_BYTES of) the body. */
class AnswerHandler implements Dispatcher.DispatchHandler {
  timer: NodeJS.Timeout | undefined;
  private abort: ((reason?: Error) => void) | undefined;
  private reason: Error | undefined;
  private status = 0;
  private rawHeaders: Buffer[] | string[] = [];
  private parts: Buffer[] = [];
  private size = 0;
  private done = false;

  constructor(
    private readonly resolve: (answer: TargetAnswer) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  /**
   * The timer fired: abort the request. Before it has a connection (a target that takes its time to accept)
   * the caller gets the timeout now, and the request is aborted when the connection comes.
   */
  fail(reason: Error): void {
    this.reason = reason;
    if (this.abort) this.abort(reason);
    else this.onError(reason);
  }

  onConnect(abort: (reason?: Error) => void): void {
    if (this.reason) abort(this.reason);
    else this.abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[]): boolean {
    // 1xx: informational, the answer is still to come.
    if (statusCode < 200) return true;
    this.status = statusCode;
    this.rawHeaders = rawHeaders;
    return true;
  }

  onData(chunk: Buffer): boolean {
    // Past the cap the rest is read and dropped, so the connection can be reused.
    if (this.size < MAX_ANSWER_BYTES) this.parts.push(chunk);
    this.size += chunk.length;
    return true;
  }

  onComplete(): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    const parts = this.parts;
    const text = parts.length === 0 ? '' : parts.length === 1 ? parts[0]!.toString('utf8') : Buffer.concat(parts).toString('utf8');
    this.resolve(new Answer(this.status, this.rawHeaders, text.length > MAX_ANSWER_BYTES ? text.slice(0, MAX_ANSWER_BYTES) : text));
  }

  onError(error: Error): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.reject(error);
  }
}

/**
 * A target's answer. Its headers are read from undici's raw list when first asked for: most answers are a
 * 2xx whose headers nobody reads, and parsing them costs about as much as the rest of settling the answer.
 * `headers` is a getter, so an adapter copying an answer reads it by name (`{ ...answer }` would drop it);
 * JSON.stringify gives the three fields (toJSON), not undici's raw buffers.
 */
class Answer implements TargetAnswer {
  private parsed: TargetAnswer['headers'] | undefined;

  constructor(
    readonly status: number,
    private readonly rawHeaders: Buffer[] | string[],
    readonly body: string,
  ) {}

  get headers(): TargetAnswer['headers'] {
    return (this.parsed ??= util.parseHeaders(this.rawHeaders) as TargetAnswer['headers']);
  }

  toJSON(): TargetAnswer {
    return { status: this.status, headers: this.headers, body: this.body };
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function timeoutError(ms: number): Error {
  return Object.assign(new Error(`no answer within ${ms} ms`), { name: 'TimeoutError', code: 'ETIMEDOUT' });
}
