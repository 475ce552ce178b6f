/** What the SQLite-only store tests share: files in a folder of their own, and stores closed after each test. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.js';
import type { SqliteStore } from '../../src/adapters/sqlite/index.js';

/** A new file name per call, in a folder removed after the test file. Call at the top level of a test file. */
export function sqliteFiles(prefix: string): () => string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let files = 0;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return () => join(dir, `store-${++files}.db`);
}

/** Opens stores that are closed after each test. Call inside a describe. */
export function openedStores(): (filename: string) => SqliteStore {
  const opened: SqliteStore[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });
  return (filename) => {
    const store = createSqliteStore({ filename });
    opened.push(store);
    return store;
  };
}
