/**
 * Giving space back to the file system after a large prune. Day to day this is not needed: SQLite reuses
 * the pages a prune frees, so under steady load with retention on the file stops growing (see
 * docs/guides/going-to-production.md). After the first prune of a large, old store, `VACUUM` rewrites the
 * file at its new size. It holds the write lock for as long as it runs (about the time it takes to copy
 * the file) and needs that much free disk, so run it when traffic is low.
 */
import { statSync } from 'node:fs';
import { fileSize, openSqlite } from './sqlite-file.ts';

export interface VacuumResult {
  bytesBefore: number;
  bytesAfter: number;
  freePagesBefore: number;
}

export function vacuumSqlite(file: string, options: { busyTimeoutMs?: number } = {}): VacuumResult {
  const db = openSqlite(file, { timeoutMs: options.busyTimeoutMs ?? 5000 });
  try {
    const before = fileSize(db);
    const bytesBefore = statSync(file).size;
    db.exec('VACUUM');
    // Fold the WAL the rewrite went through back into the file, so the size on disk is the new one.
    db.pragma('wal_checkpoint(TRUNCATE)');
    return { bytesBefore, bytesAfter: statSync(file).size, freePagesBefore: before.freePages };
  } finally {
    db.close();
  }
}
