/**
 * Errors of the admin panel's JSON API. Answers are `{ code, message, ...details }` like the rest of the
 * server; codes are stable and listed in docs/errors.md under "Admin panel errors".
 */
import { BilhetagemError } from '../errors.ts';
import type { ErrorDetails } from '../errors.ts';

export const AdminErrorCodes = {
  /** The username or password is wrong (or the account does not exist: the answer does not say which). */
  LOGIN: 'BLH_ERR_ADMIN_LOGIN',
  /** Too many failed logins for this username or address; `Retry-After` says when to try again. */
  LOCKED: 'BLH_ERR_ADMIN_LOCKED',
  /** No session, or it expired, was logged out, or its account was removed or got a new password. */
  SESSION: 'BLH_ERR_ADMIN_SESSION',
  /** A state-changing request without the session's CSRF token, or sent from another origin. */
  CSRF: 'BLH_ERR_ADMIN_CSRF',
  /** The account's role may not do this (viewer: read only; operator: no keys or accounts). */
  FORBIDDEN: 'BLH_ERR_ADMIN_FORBIDDEN',
  /** A query, path parameter or body is not valid for the route. */
  INPUT: 'BLH_ERR_ADMIN_INPUT',
  /** No such record, ruleset version, account or admin route. */
  NOT_FOUND: 'BLH_ERR_ADMIN_NOT_FOUND',
  /** The change would leave no admin account (removing or demoting the last one, or removing yourself). */
  LAST_ADMIN: 'BLH_ERR_ADMIN_LAST_ADMIN',
  /** The current password is wrong, or the new one is too short or too long. */
  PASSWORD: 'BLH_ERR_ADMIN_PASSWORD',
  /** A candidate ruleset does not load or compile; `error` carries the ruleset error and `lint` the findings. Nothing changed. */
  RULESET: 'BLH_ERR_ADMIN_RULESET',
  /** The server was set up without what this needs (a store without the insight reads, a ruleset that cannot be swapped). */
  UNSUPPORTED: 'BLH_ERR_ADMIN_UNSUPPORTED',
} as const;
export type AdminErrorCode = (typeof AdminErrorCodes)[keyof typeof AdminErrorCodes];

export class AdminError extends BilhetagemError {
  /** Extra response headers (Retry-After). */
  readonly headers: Record<string, string>;

  constructor(code: AdminErrorCode, statusCode: number, message: string, options: { details?: ErrorDetails; cause?: unknown; headers?: Record<string, string> } = {}) {
    super(code, message, { statusCode, details: options.details, cause: options.cause });
    this.name = 'AdminError';
    this.headers = options.headers ?? {};
  }
}

const E = AdminErrorCodes;

export const notLoggedIn = (why = 'log in first') => new AdminError(E.SESSION, 401, `no valid session: ${why}`);
export const forbidden = (role: string, action: string) => new AdminError(E.FORBIDDEN, 403, `the role "${role}" may not ${action}`, { details: { role, action } });
export const badInput = (message: string, details: ErrorDetails = {}) => new AdminError(E.INPUT, 400, message, { details });
export const notFound = (message: string, details: ErrorDetails = {}) => new AdminError(E.NOT_FOUND, 404, message, { details });
export const unsupported = (message: string) => new AdminError(E.UNSUPPORTED, 501, message);
