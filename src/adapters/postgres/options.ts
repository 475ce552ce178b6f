/** Every option of the PostgreSQL store, its default, and the checks: unknown options are refused by name. */
import { OptionsError } from '../../errors.js';

export interface PostgresPoolOptions {
  /** Connections this store may open (writes and reads together). Default 10. */
  max?: number;
  /** An idle connection is closed after this long. Default 10000. */
  idleTimeoutMillis?: number;
  /** How long to wait for a connection, new or from the pool, before the call fails with BLH_ERR_STORE_WRITE. Default 10000. */
  connectionTimeoutMillis?: number;
}

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/database`; anything pg accepts, including `?sslmode=`. */
  connectionString: string;
  /** The schema holding bilhetagem's tables; created (with the tables) when missing. Default `bilhetagem`. */
  schema?: string;
  pool?: PostgresPoolOptions;
  /** The server cancels a statement running longer than this; 0 turns the limit off. Default 30000. */
  statementTimeoutMs?: number;
  /** The most write calls committed in one transaction; the rest go in the next. Default 1000. */
  maxBatchJobs?: number;
}

export interface ResolvedPostgresOptions {
  connectionString: string;
  schema: string;
  pool: Required<PostgresPoolOptions>;
  statementTimeoutMs: number;
  maxBatchJobs: number;
}

/** The schema a store uses when none is named. */
export const DEFAULT_SCHEMA = 'bilhetagem';

const defaults = {
  schema: DEFAULT_SCHEMA,
  pool: { max: 10, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 10_000 },
  statementTimeoutMs: 30_000,
  maxBatchJobs: 1000,
} as const;

const known = new Set(['connectionString', 'schema', 'pool', 'statementTimeoutMs', 'maxBatchJobs']);
const knownPool = new Set(['max', 'idleTimeoutMillis', 'connectionTimeoutMillis']);

/** A plain identifier: it is written into SQL (quoted), so nothing that would need escaping. */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function resolvePostgresOptions(options: PostgresStoreOptions): ResolvedPostgresOptions {
  if (typeof options !== 'object' || options === null) throw new OptionsError('PostgreSQL store options must be an object');
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new OptionsError(`Unknown PostgreSQL store option "${key}"`, { option: key });
  }
  const pool = options.pool ?? {};
  if (typeof pool !== 'object' || pool === null) throw new OptionsError('pool must be an object', { option: 'pool' });
  for (const key of Object.keys(pool)) {
    if (!knownPool.has(key)) throw new OptionsError(`Unknown PostgreSQL store option "pool.${key}"`, { option: `pool.${key}` });
  }
  const resolved: ResolvedPostgresOptions = {
    connectionString: options.connectionString,
    schema: options.schema ?? defaults.schema,
    pool: { ...defaults.pool, ...pool },
    statementTimeoutMs: options.statementTimeoutMs ?? defaults.statementTimeoutMs,
    maxBatchJobs: options.maxBatchJobs ?? defaults.maxBatchJobs,
  };
  if (typeof resolved.connectionString !== 'string' || resolved.connectionString === '') {
    throw new OptionsError('connectionString must be a non-empty string', { option: 'connectionString' });
  }
  if (typeof resolved.schema !== 'string' || !SCHEMA_NAME.test(resolved.schema)) {
    throw new OptionsError('schema must be a plain identifier: a letter or _, then letters, digits or _, at most 63 in all', { option: 'schema' });
  }
  integer(resolved.pool.max, 'pool.max', 1);
  integer(resolved.pool.idleTimeoutMillis, 'pool.idleTimeoutMillis', 0);
  integer(resolved.pool.connectionTimeoutMillis, 'pool.connectionTimeoutMillis', 0);
  integer(resolved.statementTimeoutMs, 'statementTimeoutMs', 0);
  integer(resolved.maxBatchJobs, 'maxBatchJobs', 1);
  return resolved;
}

function integer(value: unknown, option: string, min: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new OptionsError(`${option} must be an integer of at least ${min}`, { option });
  }
}

/** Where the store is, for messages: the connection string without its password, and the schema. */
export function describeTarget(connectionString: string, schema: string): string {
  try {
    const url = new URL(connectionString);
    url.password = '';
    url.search = '';
    return `${url.toString()} (schema "${schema}")`;
  } catch {
    return `PostgreSQL (schema "${schema}")`;
  }
}
