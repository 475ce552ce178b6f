/**
 * The wire form of a delivery: JSON, times as epoch milliseconds, a version number so a later format can
 * be told apart. Both adapters go through it, so the memory queue hands out exactly what RabbitMQ would.
 */
import type { ClaimedDelivery } from '../ports/store.ts';
import { QueueInputError } from './errors.ts';

const VERSION = 1;

/** Target names as the forwarder allows them; they become queue names. */
const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkTarget(target: unknown): string {
  if (typeof target !== 'string' || !TARGET_NAME.test(target)) {
    throw new QueueInputError(`target must be 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit, got ${JSON.stringify(target)}`, { field: 'target' });
  }
  return target;
}

interface Wire {
  v: number;
  id: string;
  leaseToken: string;
  target: string;
  source: string;
  recordId: string;
  body: unknown;
  attempts: number;
  replays: number;
  createdAt: number;
  nextAttemptAt: number;
  leaseExpiresAt: number;
  /** Absent until the row's first counted failure (and in messages of versions before it). */
  firstTryAt?: number;
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new QueueInputError(`${field} must be a non-empty string`, { field });
  return value;
}

function count(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new QueueInputError(`${field} must be a whole number`, { field });
  return value;
}

function millis(value: unknown, field: string): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) throw new QueueInputError(`${field} must be a valid date`, { field });
  return ms;
}

/** Checks a delivery before it is published; a bad one is the caller's bug, refused with BLH_ERR_QUEUE_INPUT. */
export function toWire(d: ClaimedDelivery): Wire {
  if (d === null || typeof d !== 'object') throw new QueueInputError('a delivery must be an object');
  return {
    v: VERSION,
    id: text(d.id, 'id'),
    leaseToken: text(d.leaseToken, 'leaseToken'),
    target: checkTarget(d.target),
    source: text(d.source, 'source'),
    recordId: text(d.recordId, 'recordId'),
    body: d.body,
    attempts: count(d.attempts, 'attempts'),
    replays: count(d.replays, 'replays'),
    createdAt: millis(d.createdAt, 'createdAt'),
    nextAttemptAt: millis(d.nextAttemptAt, 'nextAttemptAt'),
    leaseExpiresAt: millis(d.leaseExpiresAt, 'leaseExpiresAt'),
    ...(d.firstTryAt === undefined ? {} : { firstTryAt: millis(d.firstTryAt, 'firstTryAt') }),
  };
}

export function encodeDelivery(d: ClaimedDelivery): Buffer {
  return Buffer.from(JSON.stringify(toWire(d)));
}

/** Reads a message back; anything else (another version, a stranger's message) throws BLH_ERR_QUEUE_INPUT. */
export function decodeDelivery(content: Buffer | string): ClaimedDelivery {
  let w: Wire;
  try {
    w = JSON.parse(typeof content === 'string' ? content : content.toString('utf8')) as Wire;
  } catch (error) {
    throw new QueueInputError(`the message is not JSON: ${(error as Error).message}`);
  }
  if (w === null || typeof w !== 'object' || w.v !== VERSION) throw new QueueInputError(`the message is not a bilhetagem delivery (version ${JSON.stringify((w as Wire | null)?.v)})`);
  return {
    id: text(w.id, 'id'),
    leaseToken: text(w.leaseToken, 'leaseToken'),
    target: checkTarget(w.target),
    source: text(w.source, 'source'),
    recordId: text(w.recordId, 'recordId'),
    body: w.body,
    attempts: count(w.attempts, 'attempts'),
    replays: count(w.replays, 'replays'),
    createdAt: new Date(millis(w.createdAt, 'createdAt')),
    nextAttemptAt: new Date(millis(w.nextAttemptAt, 'nextAttemptAt')),
    leaseExpiresAt: new Date(millis(w.leaseExpiresAt, 'leaseExpiresAt')),
    ...(w.firstTryAt === undefined ? {} : { firstTryAt: new Date(millis(w.firstTryAt, 'firstTryAt')) }),
  };
}
