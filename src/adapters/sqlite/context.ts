/** What every part of the SQLite store shares: the connection, the writer queue and the statement cache. */
import type { SqliteDatabase, SqliteStatement } from './driver.js';
import type { GroupCommit } from './group-commit.js';
import type { ReaderThread } from './reader-thread.js';
import type { ThreadWriter } from './writer-thread.js';

export interface SqliteContext {
  db: SqliteDatabase;
  /** Every write goes through here (see group-commit.ts); reads go straight to `db`. */
  writer: GroupCommit;
  /** Records and rejections, for a store in a file: written on a thread of their own (writer-thread.ts). */
  thread?: ThreadWriter;
  /** The admin panel's large reads, for a store in a file: on a read-only connection of their own (reader-thread.ts). */
  reader?: ReaderThread;
  cached: (sql: string) => SqliteStatement;
  /** Throws BLH_ERR_STORE_CLOSED once the store is closed. */
  open: () => void;
}
