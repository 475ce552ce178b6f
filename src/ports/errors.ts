/**
 * Errors of the store port. Every adapter (memory, SQLite, later PostgreSQL) throws these, so callers
 * branch on `code` and never on a driver's own error. Codes are stable and listed in docs/errors.md.
 */
import { BilhetagemError } from '../errors.js';
import type { ErrorDetails } from '../errors.js';

export const StoreErrorCodes = {
  /** A method was called on a store that has been closed. */
  STORE_CLOSED: 'BLH_ERR_STORE_CLOSED',
  /** A method got malformed input (a missing field, an invalid date, a payload that is not JSON). */
  STORE_INPUT: 'BLH_ERR_STORE_INPUT',
  /** The named row (outbox row, dead letter, API key, account) does not exist. */
  STORE_NOT_FOUND: 'BLH_ERR_STORE_NOT_FOUND',
  /** The row exists but is not in a state that allows the change (e.g. retrying a discarded dead letter). */
  STORE_STATE: 'BLH_ERR_STORE_STATE',
  /** A unique name is taken (an account's username, an API key's prefix). */
  STORE_EXISTS: 'BLH_ERR_STORE_EXISTS',
  /** ack/retryLater/deadLetter by a worker whose lease was taken over (it expired and another worker claimed the row). */
  LEASE_LOST: 'BLH_ERR_LEASE_LOST',
  /** The database could not be opened (a missing directory, no permission, not a database file). */
  STORE_OPEN: 'BLH_ERR_STORE_OPEN',
  /** The database failed a write or could not be reached; nothing of the failed call was committed, so it is safe to retry. */
  STORE_WRITE: 'BLH_ERR_STORE_WRITE',
  /** The database was written by a newer version of bilhetagem; this version refuses to touch it. */
  SCHEMA_TOO_NEW: 'BLH_ERR_SCHEMA_TOO_NEW',
  /** A schema migration failed; it was rolled back and the database is unchanged. */
  STORE_MIGRATION: 'BLH_ERR_STORE_MIGRATION',
  /** A database driver package (better-sqlite3, pg) is not installed. */
  DRIVER_MISSING: 'BLH_ERR_DRIVER_MISSING',
} as const;
export type StoreErrorCode = (typeof StoreErrorCodes)[keyof typeof StoreErrorCodes];

type Options = { statusCode?: number; cause?: unknown; details?: ErrorDetails };

export class StoreError extends BilhetagemError {
  constructor(code: StoreErrorCode, message: string, options: Options = {}) {
    super(code, message, options);
    this.name = 'StoreError';
  }
}

export class StoreClosedError extends StoreError {
  constructor() {
    super(StoreErrorCodes.STORE_CLOSED, 'The store is closed', { statusCode: 503 });
    this.name = 'StoreClosedError';
  }
}

/** A programming error in the caller, not in the record: the pipeline and server validate records first. */
export class StoreInputError extends StoreError {
  constructor(message: string, details: ErrorDetails = {}, cause?: unknown) {
    super(StoreErrorCodes.STORE_INPUT, message, { statusCode: 500, details, cause });
    this.name = 'StoreInputError';
  }
}

export class StoreNotFoundError extends StoreError {
  constructor(kind: string, id: string) {
    super(StoreErrorCodes.STORE_NOT_FOUND, `No ${kind} with id "${id}"`, { statusCode: 404, details: { kind, id } });
    this.name = 'StoreNotFoundError';
  }
}

export class StoreStateError extends StoreError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(StoreErrorCodes.STORE_STATE, message, { statusCode: 409, details });
    this.name = 'StoreStateError';
  }
}

export class StoreExistsError extends StoreError {
  constructor(kind: string, key: string) {
    super(StoreErrorCodes.STORE_EXISTS, `A ${kind} "${key}" already exists`, { statusCode: 409, details: { kind, key } });
    this.name = 'StoreExistsError';
  }
}

/**
 * The worker no longer holds the row: its lease expired and another worker claimed it, or the row was
 * already settled. The other worker will deliver it; the idempotency key makes the double send harmless.
 */
export class LeaseLostError extends StoreError {
  constructor(id: string) {
    super(StoreErrorCodes.LEASE_LOST, `The lease on outbox row "${id}" is no longer held by this worker`, {
      statusCode: 409,
      details: { id },
    });
    this.name = 'LeaseLostError';
  }
}

/** 503: the failure is the database's (busy, disk full, I/O), and the caller may retry the same call. */
export class StoreWriteError extends StoreError {
  constructor(message: string, cause: unknown, details: ErrorDetails = {}) {
    super(StoreErrorCodes.STORE_WRITE, message, { statusCode: 503, cause, details });
    this.name = 'StoreWriteError';
  }
}

export class StoreOpenError extends StoreError {
  constructor(file: string, cause: unknown) {
    super(StoreErrorCodes.STORE_OPEN, `The database ${file} could not be opened: ${(cause as Error)?.message ?? String(cause)}`, {
      statusCode: 500,
      cause,
      details: { file },
    });
    this.name = 'StoreOpenError';
  }
}

export class SchemaTooNewError extends StoreError {
  constructor(found: number, supported: number, file: string) {
    super(
      StoreErrorCodes.SCHEMA_TOO_NEW,
      `The database ${file} has schema version ${found}, but this version of bilhetagem knows only up to ${supported}; upgrade bilhetagem or use a backup`,
      { statusCode: 500, details: { file, found, supported } },
    );
    this.name = 'SchemaTooNewError';
  }
}

export class StoreMigrationError extends StoreError {
  constructor(version: number, file: string, cause: unknown) {
    super(StoreErrorCodes.STORE_MIGRATION, `Migrating ${file} to schema version ${version} failed; the database is unchanged`, {
      statusCode: 500,
      cause,
      details: { file, version },
    });
    this.name = 'StoreMigrationError';
  }
}

export class DriverMissingError extends StoreError {
  constructor(pkg: string, cause: unknown) {
    super(StoreErrorCodes.DRIVER_MISSING, `The package "${pkg}" is needed for this store; install it with: npm install ${pkg}`, {
      statusCode: 500,
      cause,
      details: { package: pkg },
    });
    this.name = 'DriverMissingError';
  }
}
