/**
 * Retention on a schedule, for the server: every `intervalMs` it archives and prunes what is older than
 * `olderThan` (see prune.ts). A handle like the forwarder's: `start()`, `stop()` (idempotent, waits for
 * a run in progress to finish its current day), `runOnce()`, and events `retention:pruned` and
 * `retention:failed`. A failed run is logged and tried again at the next tick; nothing is pruned
 * without its archive.
 *
 *   const retention = createRetention({ store, archiveDir: 'data/archive', olderThan: '90d' });
 *   retention.start();
 *   ...
 *   await retention.stop();
 */
import { EventEmitter } from 'node:events';
import { OptionsError } from '../errors.ts';
import type { RetentionStore } from '../ports/store.ts';
import { parseAge } from './age.ts';
import { pruneStore } from './prune.ts';
import type { PruneSummary } from './prune.ts';

export interface RetentionLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RetentionOptions {
  store: RetentionStore;
  archiveDir: string;
  /** `90d`, or milliseconds. */
  olderThan: string | number;
  /** How often to run, ms. Default 3 600 000 (hourly; each day is archived once, the first run after it is old enough). */
  intervalMs?: number;
  /** Run once right after start(). Default true. */
  runAtStart?: boolean;
  /** Epoch ms. Default Date.now. */
  clock?: () => number;
  /** pino or anything with info/error(obj, msg). Default: silent. */
  logger?: RetentionLogger;
}

export interface RetentionEvents {
  'retention:pruned': [PruneSummary];
  'retention:failed': [Error];
}

export interface Retention {
  start(): void;
  stop(): Promise<void>;
  runOnce(): Promise<PruneSummary>;
  readonly events: EventEmitter<RetentionEvents>;
  stats(): { runs: number; failures: number; lastRunAt: Date | null; lastError: string | null; records: number; rejections: number };
}

export const RETENTION_DEFAULTS = { intervalMs: 3_600_000, runAtStart: true } as const;
const KNOWN = ['store', 'archiveDir', 'olderThan', 'intervalMs', 'runAtStart', 'clock', 'logger'];
const silent: RetentionLogger = { info: () => undefined, error: () => undefined };

export function createRetention(options: RetentionOptions): Retention {
  if (options === null || typeof options !== 'object') throw new OptionsError('createRetention: options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) throw new OptionsError(`createRetention: unknown option "${key}" (known: ${KNOWN.join(', ')})`, { option: key });
  }
  if (typeof options.store?.listPrunable !== 'function') throw new OptionsError('createRetention: option "store" must be a store with retention (SQLite, PostgreSQL, memory)', { option: 'store' });
  if (typeof options.archiveDir !== 'string' || options.archiveDir === '') throw new OptionsError('createRetention: option "archiveDir" must be a folder', { option: 'archiveDir' });
  if (typeof options.olderThan === 'string') parseAge(options.olderThan, 'olderThan');
  else if (!Number.isSafeInteger(options.olderThan) || options.olderThan <= 0) throw new OptionsError('createRetention: option "olderThan" must be an age such as 90d', { option: 'olderThan' });
  const intervalMs = options.intervalMs ?? RETENTION_DEFAULTS.intervalMs;
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) throw new OptionsError('createRetention: option "intervalMs" must be a positive integer', { option: 'intervalMs' });
  const clock = options.clock ?? Date.now;
  const logger = options.logger ?? silent;
  const events = new EventEmitter<RetentionEvents>();
  const stats = { runs: 0, failures: 0, lastRunAt: null as Date | null, lastError: null as string | null, records: 0, rejections: 0 };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<PruneSummary> | undefined;
  let abort = new AbortController();
  let state: 'idle' | 'running' | 'stopped' = 'idle';

  function runOnce(): Promise<PruneSummary> {
    running ??= (async () => {
      try {
        const summary = await pruneStore({ store: options.store, archiveDir: options.archiveDir, olderThan: options.olderThan, now: new Date(clock()), signal: abort.signal });
        stats.runs += 1;
        stats.lastRunAt = new Date(clock());
        stats.lastError = null;
        stats.records += summary.records;
        stats.rejections += summary.rejections;
        if (summary.days.length > 0) {
          logger.info({ event: 'retention:pruned', cutoff: summary.cutoff, days: summary.days.map((d) => d.day), records: summary.records, rejections: summary.rejections, kept: summary.kept }, 'retention: archived and pruned');
        }
        events.emit('retention:pruned', summary);
        return summary;
      } catch (error) {
        const err = error instanceof Error ? error : new Error(String(error));
        stats.failures += 1;
        stats.lastError = err.message;
        logger.error({ event: 'retention:failed', err }, 'retention: archiving or pruning failed; nothing unarchived was pruned, retrying at the next run');
        if (events.listenerCount('retention:failed') > 0) events.emit('retention:failed', err);
        throw err;
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  const tick = () => {
    if (state !== 'running') return;
    runOnce().catch(() => undefined); // logged and counted above
  };

  return {
    events,
    runOnce,
    stats: () => ({ ...stats }),
    start() {
      if (state !== 'idle') return;
      state = 'running';
      abort = new AbortController();
      timer = setInterval(tick, intervalMs);
      timer.unref();
      if (options.runAtStart ?? RETENTION_DEFAULTS.runAtStart) setImmediate(tick);
    },
    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      if (timer) clearInterval(timer);
      abort.abort();
      await running?.catch(() => undefined);
    },
  };
}
