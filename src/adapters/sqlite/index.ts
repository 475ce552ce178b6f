export { createSqliteStore, resolveSqliteOptions } from './store.js';
export type { SqliteStore, SqliteStoreOptions, SqliteSynchronous } from './store.js';
export type { GroupCommitStats } from './group-commit.js';
export { SCHEMA_VERSION } from './migrations.js';
