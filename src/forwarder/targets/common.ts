/** Pieces every preset shares: batching, refusal, answers that refuse a whole batch. */
import { createHash } from 'node:crypto';
import { outcomeOfAnswer, outcomeOfError, truncateAnswer } from '../retry-policy.js';
import type { ItemOutcome, OutboxItem, RefusedItem, TargetAnswer, TargetFailure, TargetRequest } from './types.js';

export function isFailure(answer: TargetAnswer | TargetFailure): answer is TargetFailure {
  return (answer as TargetFailure).error !== undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

export function parseJson(body: string): unknown {
  if (body === '') return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function refuse(item: OutboxItem, reason: string): RefusedItem {
  return { item, outcome: { kind: 'permanent', reason } };
}

/** sha256, base64url: a short stable stand-in for a key too long for the target. */
export function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** A batch's idempotency key: stable for the same items in the same order. */
export function batchKey(items: OutboxItem[]): string {
  const h = createHash('sha256');
  for (const item of items) h.update(item.idempotencyKey).update('\n');
  return `batch-${h.digest('base64url')}`;
}

/** The same outcome for every item of the request. */
export function all(req: TargetRequest, outcome: ItemOutcome): ItemOutcome[] {
  return req.items.map(() => outcome);
}

/**
 * The target refused a multi-item batch and did not say which item was bad: each item is sent alone next
 * time, so only the bad one is dead-lettered.
 */
export function isolateAll(req: TargetRequest, answer: TargetAnswer): ItemOutcome[] {
  return all(req, {
    kind: 'retry',
    status: answer.status,
    retryAfterMs: 0,
    isolate: true,
    reason: `batch of ${req.items.length} refused with HTTP ${answer.status} without naming the bad item: ${truncateAnswer(answer.body, 300)}`,
  });
}

/** Status-only classification for the whole request; a refused multi-item batch is isolated. */
export function byStatus(req: TargetRequest, answer: TargetAnswer | TargetFailure, now: number): ItemOutcome[] {
  if (isFailure(answer)) return all(req, outcomeOfError(answer.error));
  const outcome = outcomeOfAnswer(answer, now);
  if (outcome.kind === 'permanent' && req.items.length > 1) return isolateAll(req, answer);
  return all(req, outcome);
}

export function bearer(token: string): string {
  return `Bearer ${token}`;
}

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** JSON.stringify that reports instead of throwing (BigInt, cycles) or returning undefined. */
export function toJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}
