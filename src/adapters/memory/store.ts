/**
 * The memory store: everything in plain maps, for tests and examples. It passes the same conformance
 * suite as the SQLite store; it keeps nothing across restarts and makes no attempt to be fast.
 */
import { OptionsError } from '../../errors.js';
import type { InsightStore } from '../../ports/insight-store.js';
import type { RetentionStore } from '../../ports/retention-store.js';
import type { Store } from '../../ports/store.js';
import { memoryAdmin } from './admin.js';
import { memoryInsight } from './insight.js';
import { memoryOutbox } from './outbox.js';
import { memoryRecords } from './records.js';
import { memoryRetention } from './retention.js';
import { MemoryState } from './state.js';

/** No options yet; the parameter exists so unknown ones are refused by name, like every factory. */
export type MemoryStoreOptions = Record<string, never>;

export type MemoryStore = Store & RetentionStore & InsightStore;

export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const unknown = Object.keys(options ?? {});
  if (unknown.length > 0) throw new OptionsError(`Unknown memory store option "${unknown[0]}"`, { option: unknown[0] });
  const state = new MemoryState();
  return {
    ...memoryRecords(state),
    ...memoryOutbox(state),
    ...memoryAdmin(state),
    ...memoryRetention(state),
    ...memoryInsight(state),
    async ready() {
      return !state.closed;
    },
    async close() {
      state.closed = true;
    },
  };
}
