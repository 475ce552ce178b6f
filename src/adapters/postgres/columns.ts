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

/**
 * A delivery held on its outbox row (schema step 4) as an attempt row: listed with the rows of attempts by
 * withHeldDeliveries (src/ports/store-rows.ts). Select from the outbox, `AND receipt_inline`, ORDER BY HELD_ORDER.
 */
export const HELD_DELIVERY_COLUMNS = `NULL::bigint AS id, id AS "outboxId", delivered_at AS at, 'delivered' AS outcome, receipt_status AS "statusCode",
  receipt_target_id AS "targetId", receipt_latency_ms AS "latencyMs", NULL::text AS error, receipt_answer AS answer, receipt_worker AS worker`;

export const HELD_ORDER = 'delivered_at, id';

export const DEAD_LETTER_COLUMNS = `id, outbox_id AS "outboxId", target, source, record_id AS "recordId", reason, code,
  status_code AS "statusCode", answer, at, status, resolved_at AS "resolvedAt", resolved_by AS "resolvedBy"`;

export const RECORD_COLUMNS = `seq, source, id, type, subject, payload, payload_hash AS "payloadHash", verdict, code, message,
  ruleset_version AS "rulesetVersion", received_at AS "receivedAt"`;

export const API_KEY_COLUMNS = 'id, name, prefix, hash, sources, created_at AS "createdAt", revoked_at AS "revokedAt"';

export const ACCOUNT_COLUMNS = 'username, password_hash AS "passwordHash", role, created_at AS "createdAt", updated_at AS "updatedAt"';

export const AUDIT_COLUMNS = 'id, actor, action, target, before, after, at';
