/**
 * pg is an optional dependency: it is imported when the first PostgreSQL store is created, never when
 * this module is, so programs that do not use PostgreSQL never need it installed.
 *
 * Also here, because they are the driver's vocabulary: how values are read (bigint columns as numbers)
 * and how a driver error is told apart (the database refusing one call's data vs. the database being
 * unreachable or failing as a whole).
 */
import type { CustomTypesConfig } from 'pg';
import type * as Pg from 'pg';
import { BilhetagemError } from '../../errors.js';
import { DriverMissingError, StoreInputError, StoreWriteError } from '../../ports/errors.js';

export type PgModule = typeof Pg;
export type { Client, Pool, PoolClient } from 'pg';

let driver: PgModule | undefined;

export async function loadDriver(): Promise<PgModule> {
  driver ??= await importDriver(() => import('pg'));
  return driver;
}

/** `importer` stands in for `import('pg')`, so a test can show what happens when pg is missing. */
export async function importDriver(importer: () => Promise<unknown>): Promise<PgModule> {
  let loaded: unknown;
  try {
    loaded = await importer();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new DriverMissingError('pg', error);
    throw error;
  }
  // pg is CommonJS: under ESM its exports arrive as `default`.
  return ((loaded as { default?: PgModule }).default ?? loaded) as PgModule;
}

const INT8 = 20;

/**
 * Per pool, not in pg's global registry (that would change every other pg user in the process): bigint
 * columns (ids, epoch milliseconds, counts) come back as numbers, as the shared row mappers expect. All
 * of ours stay far below 2^53.
 */
export function typeParsers(pg: PgModule): CustomTypesConfig {
  const parseInt8 = (value: string) => Number(value);
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === INT8 ? parseInt8 : pg.types.getTypeParser(oid, format)) as CustomTypesConfig['getTypeParser'],
  };
}

/** A SQLSTATE from the server, or undefined for errors of the network or of the driver itself. */
export function sqlState(error: unknown): string | undefined {
  const e = error as { code?: unknown; severity?: unknown } | null;
  return typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && typeof e.severity === 'string' ? e.code : undefined;
}

/**
 * Classes of SQLSTATE that are about the connection, the transaction or the server as a whole, not the
 * data of one call: connection exceptions, invalid transaction state, rollbacks (deadlock, serialization),
 * insufficient resources, object not in prerequisite state (lock not available), operator intervention
 * (statement timeout, shutdown), system errors, internal errors. Anything else is one call's own failure.
 */
const WHOLE_BATCH_CLASSES = new Set(['08', '25', '40', '53', '55', '57', '58', 'F0', 'XX']);

/** True when the error belongs to the call that caused it, so the rest of its batch can still commit. */
export function isOwnFailure(error: unknown): boolean {
  if (error instanceof BilhetagemError) return true;
  const state = sqlState(error);
  return state !== undefined && !WHOLE_BATCH_CLASSES.has(state.slice(0, 2));
}

/**
 * Our own errors pass through. Data the database cannot hold (a NUL character in a text, a key too large
 * for its index: SQLSTATE classes 22 and 54) is the caller's and would fail again on retry, so it is
 * BLH_ERR_STORE_INPUT; anything else is BLH_ERR_STORE_WRITE (503): nothing was committed, retry is safe.
 */
export function storeError(error: unknown, message: string): unknown {
  if (error instanceof BilhetagemError) return error;
  const state = sqlState(error);
  const reason = (error as Error)?.message ?? String(error);
  if (state !== undefined && (state.startsWith('22') || state.startsWith('54'))) {
    return new StoreInputError(`The database refused the data of this call: ${reason}`, { pgCode: state }, error);
  }
  const code = state ?? (error as { code?: unknown } | null)?.code;
  return new StoreWriteError(`${message}: ${reason}`, error, typeof code === 'string' ? { pgCode: code } : {});
}
