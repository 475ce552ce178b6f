/**
 * Errors of the HTTP server. Every answer that is not a success is one of these, sent as JSON
 * `{ code, message, ...details }`, so a client branches on `code` and a person reads `message`.
 * Codes are stable and listed in docs/errors.md (a test keeps that list complete).
 */
import { BilhetagemError } from '../errors.ts';
import type { ErrorDetails } from '../errors.ts';

export const ServerErrorCodes = {
  /** The body is not valid JSON (or an NDJSON body could not be split into lines); details carry line, column and offset. */
  MALFORMED_JSON: 'BLH_ERR_MALFORMED_JSON',
  /** The body is not valid UTF-8. */
  INVALID_UTF8: 'BLH_ERR_INVALID_UTF8',
  /** The body is empty, or a batch holds no records. */
  EMPTY_BODY: 'BLH_ERR_EMPTY_BODY',
  /** The body nests arrays/objects deeper than the server takes. */
  TOO_DEEP: 'BLH_ERR_TOO_DEEP',
  /** The body has a `__proto__` key, or a `constructor` key holding `prototype` (prototype-pollution shapes). */
  FORBIDDEN_KEY: 'BLH_ERR_FORBIDDEN_KEY',
  /** A path parameter, query or header does not match the route's JSON Schema. */
  REQUEST_INVALID: 'BLH_ERR_REQUEST_INVALID',
  /** No API key (or admin credentials), or one that is unknown, malformed or revoked. */
  UNAUTHORIZED: 'BLH_ERR_UNAUTHORIZED',
  /** The key is valid but may not act on this source, or the route needs an admin. */
  FORBIDDEN: 'BLH_ERR_FORBIDDEN',
  /** No route for this method and path. */
  ROUTE_NOT_FOUND: 'BLH_ERR_ROUTE_NOT_FOUND',
  /** No record with this (source, id) was stored or rejected. */
  RECORD_NOT_FOUND: 'BLH_ERR_RECORD_NOT_FOUND',
  /** A record with this (source, id) and another payload is already stored. */
  RECORD_CONFLICT: 'BLH_ERR_RECORD_CONFLICT',
  /** The body is larger than the server's body limit. */
  BODY_TOO_LARGE: 'BLH_ERR_BODY_TOO_LARGE',
  /** The batch holds more records than the server's batch limit. */
  BATCH_TOO_LARGE: 'BLH_ERR_BATCH_TOO_LARGE',
  /** The Content-Type is not one the route takes (or its charset is not UTF-8). */
  UNSUPPORTED_MEDIA_TYPE: 'BLH_ERR_UNSUPPORTED_MEDIA_TYPE',
  /** A single record was judged and rejected; `errors` carries every reason. */
  RECORD_REJECTED: 'BLH_ERR_RECORD_REJECTED',
  /** The key sent more requests than its rate limit; `Retry-After` says when to try again. */
  RATE_LIMITED: 'BLH_ERR_RATE_LIMITED',
  /** The server is starting, shutting down, or cannot write to its database; try again later. */
  NOT_READY: 'BLH_ERR_NOT_READY',
  /** A ruleset reload failed; the previous ruleset keeps running. `cause` carries the ruleset error. */
  RULESET_RELOAD: 'BLH_ERR_RULESET_RELOAD',
  /** Something failed inside the server; the log line with the same request id has the cause. */
  INTERNAL: 'BLH_ERR_INTERNAL',
} as const;
export type ServerErrorCode = (typeof ServerErrorCodes)[keyof typeof ServerErrorCodes];

export class ServerError extends BilhetagemError {
  /** Extra response headers (Retry-After, WWW-Authenticate). */
  readonly headers: Record<string, string>;

  constructor(code: ServerErrorCode, statusCode: number, message: string, options: { details?: ErrorDetails; cause?: unknown; headers?: Record<string, string> } = {}) {
    super(code, message, { statusCode, details: options.details, cause: options.cause });
    this.name = 'ServerError';
    this.headers = options.headers ?? {};
  }
}

const E = ServerErrorCodes;

export const unauthorized = (message: string) =>
  new ServerError(E.UNAUTHORIZED, 401, message, { headers: { 'www-authenticate': 'Bearer realm="bilhetagem", Basic realm="bilhetagem admin"' } });

export const forbidden = (message: string, details: ErrorDetails = {}) => new ServerError(E.FORBIDDEN, 403, message, { details });

export const notReady = (message: string, retryAfterSeconds = 1) =>
  new ServerError(E.NOT_READY, 503, message, { headers: { 'retry-after': String(retryAfterSeconds) } });

export const rateLimited = (retryAfterSeconds: number, limit: number) =>
  new ServerError(E.RATE_LIMITED, 429, `Too many requests for this API key: at most ${limit} per second; retry after ${retryAfterSeconds} s`, {
    details: { retryAfterSeconds },
    headers: { 'retry-after': String(retryAfterSeconds) },
  });
