/**
 * better-sqlite3 is a native addon: it is loaded when a SQLite store is first created, not when this
 * module is imported, so programs that never open one (or use another store) never load it.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { DriverMissingError } from '../../ports/errors.js';

export type SqliteDatabase = BetterSqlite3.Database;
export type SqliteStatement = BetterSqlite3.Statement<unknown[], unknown>;

let driver: typeof BetterSqlite3 | undefined;

export function loadDriver(): typeof BetterSqlite3 {
  if (driver) return driver;
  try {
    driver = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') throw new DriverMissingError('better-sqlite3', error);
    throw error;
  }
  return driver;
}

/** Where the driver's module is, for a thread that loads it too (writer-thread.ts). */
export function driverPath(): string {
  loadDriver();
  return createRequire(import.meta.url).resolve('better-sqlite3');
}

/**
 * Settings of every connection this store opens to a file: the main one and the writer thread's. (WAL is the
 * file's own mode, set once by the main connection.) temp_store = MEMORY keeps each write call's SAVEPOINT
 * journal out of temporary files.
 */
export function connectionPragmas(synchronous: string): string[] {
  return [`synchronous = ${synchronous}`, 'foreign_keys = ON', 'temp_store = MEMORY'];
}

/** Statements are prepared once; queries whose WHERE depends on the filters given get one per shape. */
export function statementCache(db: SqliteDatabase): (sql: string) => SqliteStatement {
  const cache = new Map<string, SqliteStatement>();
  return (sql) => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  };
}
