/**
 * Errors of the delivery side. Codes are stable and listed in docs/errors.md.
 *
 * Bad options to a target factory, the retry policy or the breaker are `OptionsError` (BLH_ERR_OPTIONS)
 * from src/errors.ts, like every other factory; the codes below are the forwarder's own.
 */
import { BilhetagemError } from '../errors.js';
import type { ErrorDetails } from '../errors.js';

export const ForwarderErrorCodes = {
  /** A call was refused locally because the target's circuit breaker is open (or its one probe is out). */
  BREAKER_OPEN: 'BLH_ERR_BREAKER_OPEN',
  /** A target name or preset is not known. */
  UNKNOWN_TARGET_PRESET: 'BLH_ERR_UNKNOWN_TARGET_PRESET',
  /** The `targets` configuration is wrong: not an object, a bad target name, a bad or unknown option of a target. */
  TARGET_CONFIG: 'BLH_ERR_TARGET_CONFIG',
  /** A `${VAR}` in the targets configuration names an environment variable that is not set. */
  ENV_MISSING: 'BLH_ERR_ENV_MISSING',
  /** The forwarder was asked for something its state does not allow (start after stop, runOnce while running). */
  FORWARDER_STATE: 'BLH_ERR_FORWARDER_STATE',
  /** A time range (replay, dead-letter filters) has a time that is not RFC 3339, or `from` is not before `to`. */
  TIME_RANGE: 'BLH_ERR_TIME_RANGE',
  /** A bulk dead-letter retry or discard named neither ids nor a filter (say `all` to mean every open one). */
  DLQ_SELECTION: 'BLH_ERR_DLQ_SELECTION',
} as const;
export type ForwarderErrorCode = (typeof ForwarderErrorCodes)[keyof typeof ForwarderErrorCodes];

export class ForwarderError extends BilhetagemError {
  constructor(code: ForwarderErrorCode, message: string, options: { statusCode?: number; cause?: unknown; details?: ErrorDetails } = {}) {
    super(code, message, options);
    this.name = 'ForwarderError';
  }
}

/** Thrown by `breaker.run()` when the breaker does not let the call through; `retryAt` says when to ask again. */
export class BreakerOpenError extends ForwarderError {
  readonly retryAt: number;

  constructor(target: string, retryAt: number) {
    super(ForwarderErrorCodes.BREAKER_OPEN, `The circuit breaker of target "${target}" is open`, {
      statusCode: 503,
      details: { target, retryAt },
    });
    this.name = 'BreakerOpenError';
    this.retryAt = retryAt;
  }
}

/** The targets configuration is wrong; `details.target` and `details.option` say where. */
export class TargetConfigError extends ForwarderError {
  constructor(message: string, details: ErrorDetails = {}, cause?: unknown) {
    super(ForwarderErrorCodes.TARGET_CONFIG, message, { statusCode: 500, details, cause });
    this.name = 'TargetConfigError';
  }
}

/** `${VAR}` names an unset environment variable; `details.variable` is its name, `details.path` where it was used. */
export class EnvMissingError extends ForwarderError {
  constructor(variable: string, path: string) {
    super(ForwarderErrorCodes.ENV_MISSING, `The environment variable ${variable} is not set (used by ${path} in the targets configuration)`, {
      statusCode: 500,
      details: { variable, path },
    });
    this.name = 'EnvMissingError';
  }
}

export class TimeRangeError extends ForwarderError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(ForwarderErrorCodes.TIME_RANGE, message, { statusCode: 400, details });
    this.name = 'TimeRangeError';
  }
}
