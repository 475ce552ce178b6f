/** What every part of the PostgreSQL store shares: table names, the writer queue and the read paths. */
import type { PgGroupCommit, Query } from './group-commit.js';
import type { Tables } from './sql.js';

export interface PgContext {
  /** The schema that holds the tables (its name keys the store's advisory locks). */
  schema: string;
  t: Tables;
  /** Every write goes through here (see group-commit.ts). */
  writer: PgGroupCommit;
  /** One read statement on any pooled connection; a driver error becomes BLH_ERR_STORE_WRITE (503). */
  read: Query;
  /** Several reads that must agree with each other, in one REPEATABLE READ snapshot. */
  snapshot<T>(work: (query: Query) => Promise<T>): Promise<T>;
  /** Throws BLH_ERR_STORE_CLOSED once the store is closed. */
  open: () => void;
}
