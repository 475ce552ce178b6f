/**
 * Errors of the library itself. Every error has a stable `code` (listed in docs/errors.md — a test keeps
 * that list complete), an HTTP `statusCode` where one fits, an optional `cause`, and structured `details`
 * (the file, the JSON path, line and column...) so callers never have to parse the message.
 *
 * Area-specific errors live beside their area (e.g. src/server/errors.ts) but extend this class and use
 * the `BLH_ERR_` prefix.
 */
export interface ErrorDetails {
  file?: string;
  path?: string;
  line?: number;
  column?: number;
  [key: string]: unknown;
}

export class BilhetagemError extends Error {
  readonly code: string;
  readonly statusCode: number | undefined;
  readonly details: ErrorDetails;

  constructor(code: string, message: string, options: { statusCode?: number; cause?: unknown; details?: ErrorDetails } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BilhetagemError';
    this.code = code;
    this.statusCode = options.statusCode;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.details };
  }
}

/** A rules/ or mappings/ file (or the ruleset as a whole) is unreadable or invalid. */
export class RulesetError extends BilhetagemError {
  constructor(code: string, message: string, options: { cause?: unknown; details?: ErrorDetails } = {}) {
    super(code, message, options);
    this.name = 'RulesetError';
  }
}

/** Options given to a factory were wrong: unknown names, wrong types. */
export class OptionsError extends BilhetagemError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('BLH_ERR_OPTIONS', message, { statusCode: 500, details });
    this.name = 'OptionsError';
  }
}

export const ErrorCodes = {
  /** A file could not be read (missing, permissions). */
  FILE_READ: 'BLH_ERR_FILE_READ',
  /** A JSON file is not valid JSON; details carry line and column. */
  JSON_PARSE: 'BLH_ERR_JSON_PARSE',
  /** A CSV reference file could not be parsed. */
  CSV_PARSE: 'BLH_ERR_CSV_PARSE',
  /** A ruleset file does not match its JSON Schema; details carry the JSON path, line and column. */
  FILE_INVALID: 'BLH_ERR_FILE_INVALID',
  /** A record JSON Schema in rules/ does not compile. */
  SCHEMA_COMPILE: 'BLH_ERR_SCHEMA_COMPILE',
  /** A business rule is not valid json-rules-engine JSON (unknown operator, bad condition, unknown fact). */
  RULE_INVALID: 'BLH_ERR_RULE_INVALID',
  /** A JSONata mapping does not parse; details carry the position. */
  MAPPING_SYNTAX: 'BLH_ERR_MAPPING_SYNTAX',
  /** The manifest names something that does not exist (a file, a reference table, a type). */
  RULESET_REFERENCE: 'BLH_ERR_RULESET_REFERENCE',
  /** Options passed to a factory are invalid. */
  OPTIONS: 'BLH_ERR_OPTIONS',
  /** A pipeline option named a target that has no mappings. */
  UNKNOWN_TARGET: 'BLH_ERR_UNKNOWN_TARGET',
  /** `now` is not a valid date. */
  INVALID_NOW: 'BLH_ERR_INVALID_NOW',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];
