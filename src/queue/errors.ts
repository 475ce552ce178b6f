/**
 * Errors of the queue port and its adapters (memory, RabbitMQ) and of the relay and queue worker. Callers
 * branch on `code`, never on amqplib's errors. Codes are stable and listed in docs/errors.md.
 */
import { BilhetagemError } from '../errors.ts';
import type { ErrorDetails } from '../errors.ts';
import { DriverMissingError } from '../ports/errors.ts';

export const QueueErrorCodes = {
  /** A method was called on a queue that has been closed. */
  QUEUE_CLOSED: 'BLH_ERR_QUEUE_CLOSED',
  /** The broker could not be reached at start (refused, wrong credentials or vhost, no answer in time). */
  QUEUE_OPEN: 'BLH_ERR_QUEUE_OPEN',
  /** The connection is down (it reconnects by itself) or a publish was not confirmed in time; nothing counts as handed over. */
  QUEUE_UNAVAILABLE: 'BLH_ERR_QUEUE_UNAVAILABLE',
  /** The broker refused a publish: the queue is full (maxLength) or the message could not be routed. */
  QUEUE_REFUSED: 'BLH_ERR_QUEUE_REFUSED',
  /** A queue or exchange of our name exists with other settings (e.g. a classic queue where a quorum one is expected). */
  QUEUE_TOPOLOGY: 'BLH_ERR_QUEUE_TOPOLOGY',
  /** A method got malformed input (a delivery without id or lease token, a bad target name, a bad prefetch). */
  QUEUE_INPUT: 'BLH_ERR_QUEUE_INPUT',
  /** The relay or the queue worker was asked for something its state does not allow (start after stop). */
  QUEUE_STATE: 'BLH_ERR_QUEUE_STATE',
} as const;
export type QueueErrorCode = (typeof QueueErrorCodes)[keyof typeof QueueErrorCodes];

type Options = { statusCode?: number; cause?: unknown; details?: ErrorDetails };

export class QueueError extends BilhetagemError {
  constructor(code: QueueErrorCode, message: string, options: Options = {}) {
    super(code, message, options);
    this.name = 'QueueError';
  }
}

export class QueueClosedError extends QueueError {
  constructor() {
    super(QueueErrorCodes.QUEUE_CLOSED, 'The queue is closed', { statusCode: 503 });
    this.name = 'QueueClosedError';
  }
}

export class QueueOpenError extends QueueError {
  constructor(where: string, cause: unknown) {
    super(QueueErrorCodes.QUEUE_OPEN, `The queue at ${where} could not be reached: ${(cause as Error)?.message ?? String(cause)}`, {
      statusCode: 503,
      cause,
      details: { where },
    });
    this.name = 'QueueOpenError';
  }
}

/** 503: retry the same call later. A publish that failed this way may still have reached the queue: duplicates are expected. */
export class QueueUnavailableError extends QueueError {
  constructor(message: string, cause?: unknown, details: ErrorDetails = {}) {
    super(QueueErrorCodes.QUEUE_UNAVAILABLE, message, { statusCode: 503, cause, details });
    this.name = 'QueueUnavailableError';
  }
}

export class QueueRefusedError extends QueueError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(QueueErrorCodes.QUEUE_REFUSED, message, { statusCode: 503, details });
    this.name = 'QueueRefusedError';
  }
}

export class QueueTopologyError extends QueueError {
  constructor(name: string, cause: unknown) {
    super(
      QueueErrorCodes.QUEUE_TOPOLOGY,
      `"${name}" exists on the broker with other settings than bilhetagem declares (${(cause as Error)?.message ?? String(cause)}); delete it or pick another prefix`,
      { statusCode: 500, cause, details: { name } },
    );
    this.name = 'QueueTopologyError';
  }
}

export class QueueInputError extends QueueError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(QueueErrorCodes.QUEUE_INPUT, message, { statusCode: 500, details });
    this.name = 'QueueInputError';
  }
}

export class QueueStateError extends QueueError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(QueueErrorCodes.QUEUE_STATE, message, { statusCode: 500, details });
    this.name = 'QueueStateError';
  }
}

/** BLH_ERR_DRIVER_MISSING, as for the store drivers, worded for a queue. */
export class QueueDriverMissingError extends DriverMissingError {
  constructor(pkg: string, cause: unknown) {
    super(pkg, cause);
    this.message = `The package "${pkg}" is needed for a RabbitMQ queue; install it with: npm install ${pkg}`;
    this.name = 'QueueDriverMissingError';
  }
}
