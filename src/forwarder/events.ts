/** The forwarder's typed events and the logger it accepts. */
import type { BreakerChange } from './breaker.ts';

interface ItemEvent {
  target: string;
  /** The outbox row. */
  rowId: string;
  source: string;
  recordId: string;
  /** This try of the item, 1-based, since it was last queued. */
  attempt: number;
  at: Date;
}

export interface DeliverySent extends ItemEvent {
  statusCode: number;
  targetId?: string;
  /** The target said it already had the item (its "already delivered" answer). */
  duplicate: boolean;
  latencyMs: number;
}

export interface DeliveryRetry extends ItemEvent {
  /** Absent when there was no answer. */
  statusCode?: number;
  reason: string;
  nextAttemptAt: Date;
  /** False for items resent only because of their batch-mates (collateral) or released unsent. */
  counted: boolean;
  /** The item goes alone in its next request. */
  isolate: boolean;
}

export interface DeliveryDead extends ItemEvent {
  statusCode?: number;
  reason: string;
  /** MAPPING_REFUSED, HTTP_<status>, MAX_ATTEMPTS or MAX_AGE. */
  code: string;
  deadLetterId: string;
}

export type ForwarderErrorStage = 'claim' | 'settle' | 'classify' | 'release' | 'lock' | 'unlock';

export interface ForwarderErrorEvent {
  target: string;
  /**
   * What failed: claiming rows, settling one, refreshing queue stats, reading an answer, letting the target go as
   * the forwarder stopped, taking or letting go of a key lock (Stripe's one call per customer and meter, shared
   * through the store).
   */
  during: ForwarderErrorStage | 'stats';
  error: Error;
}

export interface ForwarderEvents {
  'delivery:sent': [DeliverySent];
  'delivery:retry': [DeliveryRetry];
  'delivery:dead': [DeliveryDead];
  'breaker:changed': [BreakerChange];
  /** A store call failed (the row stays leased and is sent again after its lease) or an adapter threw. */
  'forwarder:error': [ForwarderErrorEvent];
}

type LogFn = (obj: object, msg?: string) => void;

/** The part of pino the forwarder uses; silent by default. */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

const noop: LogFn = () => {};
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
