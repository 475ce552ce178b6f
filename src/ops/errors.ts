/**
 * Errors of the operations side: backups, restores, retention archives and the configuration check.
 * Codes are stable and listed in docs/errors.md ("Operations errors").
 */
import { BilhetagemError } from '../errors.ts';
import type { ErrorDetails } from '../errors.ts';

export const OpsErrorCodes = {
  /** A backup could not be written or failed its check right after writing; nothing is left at the destination. */
  BACKUP_FAILED: 'BLH_ERR_BACKUP_FAILED',
  /** A backup file is not usable: not a bilhetagem SQLite database, damaged, or not what its manifest says. */
  BACKUP_INVALID: 'BLH_ERR_BACKUP_INVALID',
  /** A restore would overwrite a database that exists (or is in use) and was not told to. */
  RESTORE_REFUSED: 'BLH_ERR_RESTORE_REFUSED',
  /** An archive file could not be written; nothing of that day was pruned. */
  ARCHIVE_WRITE: 'BLH_ERR_ARCHIVE_WRITE',
  /** An archive folder does not match its manifest (a missing or changed file, a wrong count, a line that is not JSON). */
  ARCHIVE_INVALID: 'BLH_ERR_ARCHIVE_INVALID',
  /** The configuration check found errors; `details.problems` lists them, each naming its field. */
  CONFIG_INVALID: 'BLH_ERR_CONFIG_INVALID',
} as const;
export type OpsErrorCode = (typeof OpsErrorCodes)[keyof typeof OpsErrorCodes];

export class OpsError extends BilhetagemError {
  constructor(code: OpsErrorCode, message: string, options: { cause?: unknown; details?: ErrorDetails } = {}) {
    super(code, message, { statusCode: 500, ...options });
    this.name = 'OpsError';
  }
}
