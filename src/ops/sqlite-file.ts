/**
 * Looking at a SQLite store file from outside the store: its schema version, its integrity and how many
 * rows each table holds. Used by backup (the copy against the snapshot it was taken from), restore (the
 * backup before it replaces anything) and the configuration check. Never migrates or writes anything.
 */
import { loadDriver } from '../adapters/sqlite/driver.ts';
import type { SqliteDatabase } from '../adapters/sqlite/driver.ts';

/** The tables every bilhetagem SQLite store has (schema step 1). */
export const STORE_TABLES = ['records', 'outbox', 'attempts', 'dead_letters', 'rejections', 'api_keys', 'accounts', 'audit', 'rulesets'] as const;

export type TableCounts = Record<string, number>;

export function openSqlite(file: string, options: { readonly?: boolean; timeoutMs?: number } = {}): SqliteDatabase {
  const Driver = loadDriver();
  return new Driver(file, { readonly: options.readonly ?? false, fileMustExist: true, timeout: options.timeoutMs ?? 5000 });
}

export function schemaVersionOf(db: SqliteDatabase): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Rows per store table present in the file; a missing store table is left out (see missingTables). */
export function countTables(db: SqliteDatabase): TableCounts {
  const present = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]));
  const counts: TableCounts = {};
  for (const table of STORE_TABLES) {
    if (present.has(table)) counts[table] = db.prepare(`SELECT count(*) FROM "${table}"`).pluck().get() as number;
  }
  return counts;
}

export function missingTables(counts: TableCounts): string[] {
  return STORE_TABLES.filter((t) => !(t in counts));
}

/** `[]` when the file is sound; else what `PRAGMA integrity_check` (or quick_check) found, at most 20 lines. */
export function integrityProblems(db: SqliteDatabase, mode: 'full' | 'quick' = 'full'): string[] {
  const rows = db.prepare(`PRAGMA ${mode === 'full' ? 'integrity_check' : 'quick_check'}(20)`).pluck().all() as string[];
  const problems = rows.filter((r) => r !== 'ok');
  const fk = db.prepare('PRAGMA foreign_key_check').all() as { table: string; parent: string }[];
  for (const v of fk.slice(0, 20)) problems.push(`foreign key: a row of ${v.table} points at a missing row of ${v.parent}`);
  return problems;
}

export interface FileSize {
  pageSize: number;
  pages: number;
  freePages: number;
}

export function fileSize(db: SqliteDatabase): FileSize {
  return {
    pageSize: db.pragma('page_size', { simple: true }) as number,
    pages: db.pragma('page_count', { simple: true }) as number,
    freePages: db.pragma('freelist_count', { simple: true }) as number,
  };
}
