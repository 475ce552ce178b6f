/** The queue conformance suite against the memory queue: several queues on one broker act as connections. */
import { describe } from 'vitest';
import { createMemoryBroker, createMemoryQueue } from '../../src/queue/memory.ts';
import type { MemoryQueue } from '../../src/queue/memory.ts';
import { runQueueConformance } from './conformance.ts';

describe('memory', () => {
  runQueueConformance('memory', async () => {
    const broker = createMemoryBroker();
    const opened: MemoryQueue[] = [];
    return {
      async open() {
        const q = createMemoryQueue({ broker });
        opened.push(q);
        return q;
      },
      async crash(queue) {
        (queue as MemoryQueue).abort();
      },
      async cleanup() {
        for (const q of opened) q.abort();
      },
    };
  });
});
