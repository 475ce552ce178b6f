/** The relay and the queue worker on the memory store and the memory queue, then on SQLite and the memory queue. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryStore } from '../../src/adapters/memory/index.ts';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import { createMemoryBroker, createMemoryQueue } from '../../src/queue/memory.ts';
import type { MemoryQueue } from '../../src/queue/memory.ts';
import { runDeliveryScenarios } from './delivery-scenarios.ts';

function memoryQueues() {
  const broker = createMemoryBroker();
  const opened: MemoryQueue[] = [];
  return {
    async queue() {
      const q = createMemoryQueue({ broker });
      opened.push(q);
      return q;
    },
    close: () => opened.forEach((q) => q.abort()),
  };
}

runDeliveryScenarios('memory store, memory queue', async () => {
  const store = createMemoryStore();
  const queues = memoryQueues();
  return {
    store,
    storeConnection: async () => store,
    queue: queues.queue,
    async cleanup() {
      queues.close();
      await store.close();
    },
  };
});

runDeliveryScenarios('SQLite store, memory queue', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-queue-'));
  const filename = join(dir, 'db.sqlite');
  const store = createSqliteStore({ filename });
  const others: ReturnType<typeof createSqliteStore>[] = [];
  const queues = memoryQueues();
  return {
    store,
    // A connection of its own, as another process would have.
    storeConnection: async () => {
      const other = createSqliteStore({ filename });
      others.push(other);
      return other;
    },
    queue: queues.queue,
    async cleanup() {
      queues.close();
      for (const other of others) await other.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
