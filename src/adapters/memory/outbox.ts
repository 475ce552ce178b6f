/** The delivery side of the memory store: claims with leases, settling, dead letters, replays, stats. */
import { randomUUID } from 'node:crypto';
import { LeaseLostError, StoreNotFoundError, StoreStateError } from '../../ports/errors.js';
import {
  prepareAcks,
  prepareClaim,
  prepareDeadLetter,
  prepareDeadLetterFilter,
  prepareLease,
  prepareReceipt,
  prepareRequeue,
  prepareResolution,
  prepareRetry,
} from '../../ports/outbox-input.js';
import type { PreparedAttempt, PreparedReceipt } from '../../ports/outbox-input.js';
import { millis, rowNumber, text, toPage } from '../../ports/store-input.js';
import { oldestDueFirst, toClaimed, toDeadLetter } from '../../ports/store-rows.js';
import type { DeadLetterRow, OutboxRow } from '../../ports/store-rows.js';
import type { AckResult, AttemptOutcome, DeliveryStatus, LeaseRef, OutboxStore, TargetStats } from '../../ports/store.js';
import { emptyStats, emptyTargetStats, withAges } from '../../ports/store-stats.js';
import { inRange, newestFirst } from './state.js';
import type { MemoryState } from './state.js';

export function memoryOutbox(state: MemoryState): OutboxStore {
  /** The row, if `ref` holds its lease; settling it also ends the lease, so a second ack is refused too. */
  function held(ref: LeaseRef): OutboxRow {
    const { id, leaseToken } = prepareLease(ref);
    const row = lookup(id);
    if (row.status !== 'pending' || row.leaseToken !== leaseToken) throw new LeaseLostError(id);
    return row;
  }

  function lookup(id: string): OutboxRow {
    const row = state.outbox.get(rowNumber(id) ?? -1);
    if (!row) throw new StoreNotFoundError('outbox row', id);
    return row;
  }

  function settle(row: OutboxRow, outcome: AttemptOutcome, attempt: PreparedAttempt, extra: { error?: string; targetId?: string | null }): void {
    state.attempts.push({
      id: state.nextId(),
      outboxId: row.id,
      at: attempt.at,
      outcome,
      statusCode: attempt.statusCode,
      targetId: extra.targetId ?? null,
      latencyMs: attempt.latencyMs,
      error: extra.error ?? null,
      answer: attempt.answer,
      worker: row.leaseWorker,
    });
    row.attempts += 1;
    row.leaseToken = null;
    row.leaseWorker = null;
    row.leaseExpiresAt = null;
  }

  function ackRow(ref: LeaseRef, r: PreparedReceipt): void {
    const row = held(ref);
    settle(row, 'delivered', r, { targetId: r.targetId });
    row.status = 'delivered';
    row.lastError = null;
    row.deliveredAt = r.at;
    row.receiptStatus = r.statusCode;
    row.receiptTargetId = r.targetId;
  }

  function deadLetterRow(id: string): DeadLetterRow {
    const row = state.deadLetters.get(rowNumber(id) ?? -1);
    if (!row) throw new StoreNotFoundError('dead letter', id);
    if (row.status !== 'dead') throw new StoreStateError(`Dead letter "${id}" is already ${row.status}`, { id, status: row.status });
    return row;
  }

  return {
    async claim(options) {
      state.open();
      const c = prepareClaim(options);
      const due = [...state.outbox.values()]
        .filter((o) => o.target === c.target && o.status === 'pending' && o.nextAttemptAt <= c.now && (o.leaseExpiresAt === null || o.leaseExpiresAt <= c.now))
        .sort(oldestDueFirst)
        .slice(0, c.limit);
      const leaseToken = randomUUID();
      return due.map((o) => {
        o.leaseToken = leaseToken;
        o.leaseWorker = c.worker;
        o.leaseExpiresAt = c.now + c.leaseMs;
        return toClaimed(o, leaseToken, o.leaseExpiresAt);
      });
    },

    async ack(ref, receipt) {
      state.open();
      ackRow(ref, prepareReceipt(receipt));
    },

    async ackMany(acks) {
      state.open();
      return prepareAcks(acks).map(({ lease, receipt }): AckResult => {
        try {
          ackRow(lease, receipt);
          return null;
        } catch (error) {
          if (error instanceof LeaseLostError || error instanceof StoreNotFoundError) return error;
          throw error;
        }
      });
    },

    async retryLater(ref, report) {
      state.open();
      const r = prepareRetry(report);
      const row = held(ref);
      settle(row, 'retry', r, { error: r.error });
      row.attempts += r.counted - 1;
      row.nextAttemptAt = r.nextAttemptAt;
      row.lastError = r.error;
      // A counted failure starts the row's run of tries if none is running (for max age).
      if (r.counted === 1) row.firstTryAt ??= r.at;
    },

    async deadLetter(ref, report) {
      state.open();
      const r = prepareDeadLetter(report);
      const row = held(ref);
      settle(row, 'dead', r, { error: r.reason });
      row.status = 'dead';
      row.lastError = r.reason;
      const dead: DeadLetterRow = {
        id: state.nextId(),
        outboxId: row.id,
        target: row.target,
        source: row.source,
        recordId: row.recordId,
        reason: r.reason,
        code: r.code,
        statusCode: r.statusCode,
        answer: r.answer,
        at: r.at,
        status: 'dead',
        resolvedAt: null,
        resolvedBy: null,
      };
      state.deadLetters.set(dead.id, dead);
      return toDeadLetter(dead);
    },

    async listDeadLetters(filter) {
      state.open();
      const f = prepareDeadLetterFilter(filter);
      const rows = newestFirst(state.deadLetters.values(), (d) => d.id, f.before, f.limit, (d) =>
        d.status === f.status &&
        (f.target === null || d.target === f.target) &&
        (f.code === null || d.code === f.code) &&
        (f.reason === null || d.reason.includes(f.reason)) &&
        inRange(d.at, f.from, f.to),
      );
      return toPage(rows.map(toDeadLetter), f.limit, (d) => d.id);
    },

    async retryDeadLetter(id, resolution) {
      state.open();
      const r = prepareResolution(resolution);
      const dead = deadLetterRow(text(id, 'id'));
      const row = lookup(String(dead.outboxId));
      dead.status = 'retried';
      dead.resolvedAt = r.at;
      dead.resolvedBy = r.by;
      row.status = 'pending';
      row.attempts = 0;
      row.firstTryAt = null;
      row.nextAttemptAt = r.at;
      return toDeadLetter(dead);
    },

    async discardDeadLetter(id, resolution) {
      state.open();
      const r = prepareResolution(resolution);
      const dead = deadLetterRow(text(id, 'id'));
      dead.status = 'discarded';
      dead.resolvedAt = r.at;
      dead.resolvedBy = r.by;
      lookup(String(dead.outboxId)).status = 'discarded';
      return toDeadLetter(dead);
    },

    async requeueDelivered(filter) {
      state.open();
      const f = prepareRequeue(filter);
      let count = 0;
      for (const row of state.outbox.values()) {
        if (row.status !== 'delivered' || !inRange(row.deliveredAt!, f.from, f.to)) continue;
        if ((f.source !== null && row.source !== f.source) || (f.target !== null && row.target !== f.target)) continue;
        row.status = 'pending';
        row.attempts = 0;
        row.firstTryAt = null;
        row.replays += 1;
        row.nextAttemptAt = f.at;
        count += 1;
      }
      return count;
    },

    async stats(options) {
      state.open();
      const at = millis(options?.now, 'now');
      const stats = emptyStats();
      for (const r of state.records.values()) stats.records[r.verdict] += 1;
      stats.records.rejected = state.rejections.length;
      for (const d of state.deadLetters.values()) if (d.status === 'dead') stats.openDeadLetters += 1;
      for (const o of state.outbox.values()) {
        const t = (stats.targets[o.target] ??= emptyTargetStats());
        count(stats.deliveries, t, o.status);
        if (o.status !== 'pending') continue;
        if (o.leaseExpiresAt !== null && o.leaseExpiresAt > at) t.leased += 1;
        if (t.oldestPendingAt === null || o.createdAt < t.oldestPendingAt.getTime()) t.oldestPendingAt = new Date(o.createdAt);
      }
      return withAges(stats, at);
    },
  };
}

function count(total: Record<DeliveryStatus, number>, target: TargetStats, status: DeliveryStatus): void {
  total[status] += 1;
  target[status] += 1;
}
