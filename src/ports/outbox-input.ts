/** Input checks for the delivery side, shared by every adapter (see store-input.ts for why). */
import {
  json,
  millis,
  object,
  optionalInteger,
  optionalMillis,
  optionalNumber,
  optionalText,
  positiveInteger,
  preparePage,
  text,
} from './store-input.js';
import type { PreparedPage } from './store-input.js';
import { StoreInputError } from './errors.js';
import type {
  AckRequest,
  AttemptReport,
  ClaimOptions,
  DeadLetterFilter,
  DeadLetterReport,
  DeadLetterStatus,
  DeliveryReceipt,
  LeaseRef,
  RequeueFilter,
  Resolution,
  RetryReport,
} from './store.js';

export interface PreparedClaim {
  target: string;
  limit: number;
  leaseMs: number;
  worker: string;
  now: number;
}

export function prepareClaim(options: ClaimOptions): PreparedClaim {
  object(options, 'claim options');
  return {
    target: text(options.target, 'target'),
    limit: positiveInteger(options.limit, 'limit'),
    leaseMs: positiveInteger(options.leaseMs, 'leaseMs'),
    worker: text(options.worker, 'worker'),
    now: millis(options.now, 'now'),
  };
}

export function prepareLease(ref: LeaseRef): LeaseRef {
  object(ref, 'lease');
  return { id: text(ref.id, 'id'), leaseToken: text(ref.leaseToken, 'leaseToken') };
}

export interface PreparedAttempt {
  at: number;
  statusCode: number | null;
  latencyMs: number | null;
  answer: string | null;
}

function prepareAttempt(report: AttemptReport): PreparedAttempt {
  object(report, 'report');
  return {
    at: millis(report.at, 'at'),
    statusCode: optionalInteger(report.statusCode, 'statusCode'),
    latencyMs: optionalNumber(report.latencyMs, 'latencyMs'),
    answer: json(report.answer, 'answer'),
  };
}

export type PreparedReceipt = PreparedAttempt & { targetId: string | null };

export function prepareReceipt(receipt: DeliveryReceipt): PreparedReceipt {
  return { ...prepareAttempt(receipt), targetId: optionalText(receipt.targetId, 'targetId') };
}

/** Every entry checked before anything is written: one malformed entry refuses the whole call. */
export function prepareAcks(acks: readonly AckRequest[]): { lease: LeaseRef; receipt: PreparedReceipt }[] {
  if (!Array.isArray(acks)) throw new StoreInputError('acks must be an array', { field: 'acks' });
  const out: { lease: LeaseRef; receipt: PreparedReceipt }[] = new Array(acks.length);
  for (let i = 0; i < acks.length; i++) {
    const a = object(acks[i], `acks[${i}]`);
    out[i] = { lease: prepareLease(a.ref), receipt: prepareReceipt(a.receipt) };
  }
  return out;
}

export function prepareRetry(report: RetryReport): PreparedAttempt & { error: string; nextAttemptAt: number; counted: 0 | 1 } {
  const count = report?.countAttempt ?? true;
  if (typeof count !== 'boolean') throw new StoreInputError('countAttempt must be a boolean', { field: 'countAttempt' });
  return {
    ...prepareAttempt(report),
    error: text(report.error, 'error'),
    nextAttemptAt: millis(report.nextAttemptAt, 'nextAttemptAt'),
    counted: count ? 1 : 0,
  };
}

export function prepareDeadLetter(report: DeadLetterReport): PreparedAttempt & { reason: string; code: string | null } {
  return { ...prepareAttempt(report), reason: text(report.reason, 'reason'), code: optionalText(report.code, 'code') };
}

const deadLetterStatuses: readonly DeadLetterStatus[] = ['dead', 'retried', 'discarded'];

export interface PreparedDeadLetterFilter extends PreparedPage {
  target: string | null;
  code: string | null;
  reason: string | null;
  status: DeadLetterStatus;
  from: number | null;
  to: number | null;
}

export function prepareDeadLetterFilter(filter: DeadLetterFilter = {}): PreparedDeadLetterFilter {
  object(filter, 'filter');
  const status = filter.status ?? 'dead';
  if (!deadLetterStatuses.includes(status)) throw new StoreInputError(`status must be one of ${deadLetterStatuses.join(', ')}`, { field: 'status' });
  return {
    ...preparePage(filter),
    target: optionalText(filter.target, 'target'),
    code: optionalText(filter.code, 'code'),
    reason: optionalText(filter.reason, 'reason'),
    status,
    from: optionalMillis(filter.from, 'from'),
    to: optionalMillis(filter.to, 'to'),
  };
}

export function prepareResolution(resolution: Resolution): { at: number; by: string | null } {
  object(resolution, 'resolution');
  return { at: millis(resolution.at, 'at'), by: optionalText(resolution.by, 'by') };
}

export interface PreparedRequeue {
  from: number;
  to: number;
  source: string | null;
  target: string | null;
  at: number;
}

export function prepareRequeue(filter: RequeueFilter): PreparedRequeue {
  object(filter, 'filter');
  return {
    from: millis(filter.from, 'from'),
    to: millis(filter.to, 'to'),
    source: optionalText(filter.source, 'source'),
    target: optionalText(filter.target, 'target'),
    at: millis(filter.at, 'at'),
  };
}
