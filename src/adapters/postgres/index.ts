export { createPostgresStore } from './store.js';
export type { PoolStats, PostgresStore } from './store.js';
export { resolvePostgresOptions } from './options.js';
export type { PostgresPoolOptions, PostgresStoreOptions, ResolvedPostgresOptions } from './options.js';
export type { GroupCommitStats } from './group-commit.js';
export { SCHEMA_VERSION } from './migrations.js';
