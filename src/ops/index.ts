/** Operations: online backup and restore of the SQLite store, retention with archives, the configuration check. */
export { backupSqlite, checkBackup, manifestPathOf, restoreSqlite, BACKUP_FORMAT } from './backup.ts';
export type { BackupCheck, BackupManifest, BackupOptions, BackupResult, RestoreOptions, RestoreResult } from './backup.ts';
export { defaultArchiveDir, pruneStore, retentionCutoff } from './prune.ts';
export type { PrunedDay, PruneOptions, PruneSummary } from './prune.ts';
export { createRetention, RETENTION_DEFAULTS } from './retention.ts';
export type { Retention, RetentionEvents, RetentionLogger, RetentionOptions } from './retention.ts';
export { readArchiveDay, verifyArchive, writeArchiveDay, ARCHIVE_FORMAT, MANIFEST_FILE } from './archive.ts';
export type { ArchiveEntry, ArchiveFileReport, ArchiveLine, ArchiveManifest, ArchiveReport } from './archive.ts';
export { assertConfigOk, checkConfig, describeConfigReport, redactUrl } from './config-check.ts';
export type { CheckOptions, ConfigProblem, ConfigReport, ConfigUnderCheck, StoreConfig, StorePlan } from './config-check.ts';
export { parseAge } from './age.ts';
export { vacuumSqlite } from './vacuum.ts';
export type { VacuumResult } from './vacuum.ts';
export { OpsError, OpsErrorCodes } from './errors.ts';
export type { OpsErrorCode } from './errors.ts';
