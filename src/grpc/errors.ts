/**
 * Errors of the gRPC server, and how every error of ours becomes a gRPC status. A call that cannot be
 * answered ends with a status whose `details` is the error's message, and whose trailing metadata carries
 * the stable code (`bilhetagem-error-code`) and the whole error as JSON (`bilhetagem-error-bin`), so a
 * client in any language branches on the code and a person reads the message. Codes are listed in
 * docs/errors.md (a test keeps that list complete).
 *
 * Errors the HTTP server already names (no key, wrong source, too deep, batch too large, not ready, store
 * failures) keep their codes here: one vocabulary for both protocols.
 */
import { BilhetagemError } from '../errors.ts';
import type { ErrorDetails } from '../errors.ts';
import { StoreErrorCodes } from '../ports/errors.ts';
import { ServerErrorCodes } from '../server/errors.ts';

export const GrpcErrorCodes = {
  /** The request's bytes are not a protobuf message of the method's request type. */
  BAD_MESSAGE: 'BLH_ERR_GRPC_BAD_MESSAGE',
  /** A record's `data_json` or `extensions_json` is not valid JSON; details carry the record, field, line, column and offset. */
  MALFORMED_JSON: 'BLH_ERR_GRPC_MALFORMED_JSON',
  /** A record message cannot be made a record: it is missing, or `extensions_json` is not an object of extension attributes. */
  BAD_RECORD: 'BLH_ERR_GRPC_BAD_RECORD',
  /** A Validate, Transform or Submit request holds no records. */
  NO_RECORDS: 'BLH_ERR_GRPC_NO_RECORDS',
  /** A Transform request's `targets` names a target the server does not map to. */
  UNKNOWN_TARGET: 'BLH_ERR_GRPC_UNKNOWN_TARGET',
  /** The gRPC server could not listen on its address (the port is taken, the host is not local). */
  LISTEN: 'BLH_ERR_GRPC_LISTEN',
  /** Client side (createGrpcClient): a call ended with a status that carries no bilhetagem code (no server, a deadline, a message over grpc-js's size limit). */
  CALL_FAILED: 'BLH_ERR_GRPC_CALL_FAILED',
} as const;
export type GrpcErrorCode = (typeof GrpcErrorCodes)[keyof typeof GrpcErrorCodes];

/** gRPC status codes (the wire values, the same in every language). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/** Trailing metadata keys of an error status. */
export const ERROR_CODE_KEY = 'bilhetagem-error-code';
export const ERROR_JSON_KEY = 'bilhetagem-error-bin';

export class GrpcError extends BilhetagemError {
  /** The gRPC status this error ends a call with. */
  readonly grpcStatus: GrpcStatusCode;

  constructor(code: GrpcErrorCode | (typeof ServerErrorCodes)[keyof typeof ServerErrorCodes], grpcStatus: GrpcStatusCode, message: string, options: { details?: ErrorDetails; cause?: unknown } = {}) {
    super(code, message, { statusCode: grpcStatus === GrpcStatus.INVALID_ARGUMENT ? 400 : 500, details: options.details, cause: options.cause });
    this.name = 'GrpcError';
    this.grpcStatus = grpcStatus;
  }
}

const S = ServerErrorCodes;
const STATUS_OF_CODE: Record<string, GrpcStatusCode> = {
  [S.UNAUTHORIZED]: GrpcStatus.UNAUTHENTICATED,
  [S.FORBIDDEN]: GrpcStatus.PERMISSION_DENIED,
  [S.RATE_LIMITED]: GrpcStatus.RESOURCE_EXHAUSTED,
  [S.NOT_READY]: GrpcStatus.UNAVAILABLE,
  [S.TOO_DEEP]: GrpcStatus.INVALID_ARGUMENT,
  [S.FORBIDDEN_KEY]: GrpcStatus.INVALID_ARGUMENT,
  [S.BATCH_TOO_LARGE]: GrpcStatus.INVALID_ARGUMENT,
  [StoreErrorCodes.STORE_WRITE]: GrpcStatus.UNAVAILABLE,
  [StoreErrorCodes.STORE_CLOSED]: GrpcStatus.UNAVAILABLE,
};

/** What a call ends with. `internal` is set when the cause must be logged and not shown. */
export interface StatusOf {
  code: GrpcStatusCode;
  details: string;
  error: BilhetagemError;
  internal: boolean;
}

/**
 * The status of any error: ours keep their code and message; anything else is INTERNAL with a message
 * that names the call id, and its cause goes to the log only (never a driver's internals to a client).
 */
export function statusOf(error: unknown, callId: string): StatusOf {
  if (error instanceof GrpcError) return { code: error.grpcStatus, details: error.message, error, internal: false };
  if (error instanceof BilhetagemError) {
    const known = STATUS_OF_CODE[error.code];
    if (known !== undefined) return { code: known, details: error.message, error, internal: false };
    const http = error.statusCode ?? 500;
    if (http >= 400 && http < 500) return { code: GrpcStatus.INVALID_ARGUMENT, details: error.message, error, internal: false };
  }
  const masked = new BilhetagemError(S.INTERNAL, `an internal error occurred; the server log has the details under call id ${callId}`, { statusCode: 500, cause: error, details: { callId } });
  return { code: GrpcStatus.INTERNAL, details: masked.message, error: masked, internal: true };
}
