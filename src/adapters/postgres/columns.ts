/**
 * Column lists aliased to the shared row shapes (src/ports/store-rows.ts), so rows map without glue.
 * PostgreSQL folds unquoted names to lower case, hence the quoted aliases.
 */
export const OUTBOX_COLUMNS = `id, record_seq AS "recordSeq", source, record_id AS "recordId", target, body, status, attempts, replays,
  created_at AS "createdAt", next_attempt_at AS "nextAttemptAt", lease_token AS "leaseToken", lease_worker AS "leaseWorker",
  lease_expires_at AS "leaseExpiresAt", last_error AS "lastError", delivered_at AS "deliveredAt",
  receipt_status AS "receiptStatus", receipt_target_id AS "receiptTargetId"`;

export const ATTEMPT_COLUMNS = `id, outbox_id AS "outboxId", at, outcome, status_code AS "statusCode", target_id AS "targetId",
  latency_ms AS "latencyMs", error, answer, worker`;

export const DEAD_LETTER_COLUMNS = `id, outbox_id AS "outboxId", target, source, record_id AS "recordId", reason, code,
  status_code AS "statusCode", answer, at, status, resolved_at AS "resolvedAt", resolved_by AS "resolvedBy"`;

export const RECORD_COLUMNS = `seq, source, id, type, subject, payload, payload_hash AS "payloadHash", verdict, code, message,
  ruleset_version AS "rulesetVersion", received_at AS "receivedAt"`;

export const API_KEY_COLUMNS = 'id, name, prefix, hash, sources, created_at AS "createdAt", revoked_at AS "revokedAt"';

export const ACCOUNT_COLUMNS = 'username, password_hash AS "passwordHash", role, created_at AS "createdAt", updated_at AS "updatedAt"';

export const AUDIT_COLUMNS = 'id, actor, action, target, before, after, at';
