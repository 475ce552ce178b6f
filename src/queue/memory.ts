/**
 * The memory queue: the queue port in plain arrays, for tests, examples and a single process. It keeps
 * RabbitMQ's semantics where the port promises them — prefetch, competing consumers, redelivery of what a
 * vanished connection held, a dead-letter list per target — and nothing survives the process.
 *
 * Several `createMemoryQueue({ broker })` sharing one `createMemoryBroker()` behave like several
 * connections to one broker: `abort()` on one of them is a crash, and what it held goes back to the queue.
 */
import { EventEmitter } from 'node:events';
import type { ClaimedDelivery } from '../ports/store.ts';
import { QueueClosedError, QueueInputError } from './errors.ts';
import { checkTarget, decodeDelivery, encodeDelivery } from './message.ts';
import type { Consumer, ConsumeOptions, DeliveryHandler, Queue, QueueDepth, QueueEvents, QueueVerdict } from './port.ts';

interface Message {
  content: Buffer;
  redelivered: boolean;
}

interface Held {
  message: Message;
  consumer: ConsumerState;
  /** False once the message went back to the queue without a verdict (a crash): a late verdict is ignored. */
  live: boolean;
}

interface ConsumerState {
  target: string;
  prefetch: number;
  handler: DeliveryHandler;
  holding: Set<Held>;
  handlers: Set<Promise<void>>;
  stopped: boolean;
}

interface TargetQueue {
  ready: Message[];
  dead: Message[];
  consumers: ConsumerState[];
  next: number;
}

export interface MemoryBroker {
  /** Every target's queue, by name (for tests that look inside). */
  readonly queues: ReadonlyMap<string, { readonly ready: readonly unknown[]; readonly dead: readonly unknown[] }>;
}

interface BrokerState extends MemoryBroker {
  readonly queues: Map<string, TargetQueue>;
  scheduled: boolean;
}

export function createMemoryBroker(): MemoryBroker {
  const state: BrokerState = { queues: new Map(), scheduled: false };
  return state;
}

export interface MemoryQueueOptions {
  /** Share one broker between several queues (connections). Default: a broker of its own. */
  broker?: MemoryBroker;
}

export interface MemoryQueue extends Queue {
  /** Ends this connection as a crash would: no handler is waited for, and every message it held goes back to its queue. */
  abort(): void;
}

export function createMemoryQueue(options: MemoryQueueOptions = {}): MemoryQueue {
  const unknown = Object.keys(options ?? {}).filter((k) => k !== 'broker');
  if (unknown.length > 0) throw new QueueInputError(`Unknown memory queue option "${unknown[0]}"`, { option: unknown[0] });
  const broker = (options.broker ?? createMemoryBroker()) as BrokerState;
  const events = new EventEmitter<QueueEvents>();
  const mine = new Set<ConsumerState>();
  let closed = false;
  let closing: Promise<void> | undefined;

  function open(): void {
    if (closed) throw new QueueClosedError();
  }

  function queueOf(target: string): TargetQueue {
    let q = broker.queues.get(target);
    if (!q) {
      q = { ready: [], dead: [], consumers: [], next: 0 };
      broker.queues.set(target, q);
    }
    return q;
  }

  // Deliveries are handed out on a later turn, never inside publish() or a verdict: no re-entrancy, and a
  // consumer that keeps answering 'retry' cannot starve the event loop.
  function schedule(): void {
    if (broker.scheduled) return;
    broker.scheduled = true;
    setImmediate(() => {
      broker.scheduled = false;
      for (const q of broker.queues.values()) dispatch(q);
    });
  }

  function dispatch(q: TargetQueue): void {
    while (q.ready.length > 0) {
      const free = q.consumers.filter((c) => !c.stopped && c.holding.size < c.prefetch);
      if (free.length === 0) return;
      const c = free[q.next++ % free.length]!;
      deliver(c, q.ready.shift()!);
    }
  }

  function deliver(c: ConsumerState, message: Message): void {
    const held: Held = { message, consumer: c, live: true };
    c.holding.add(held);
    const delivery = { ...decodeDelivery(message.content), redelivered: message.redelivered };
    const run = (async () => {
      let verdict: QueueVerdict;
      try {
        verdict = await c.handler(delivery);
      } catch {
        verdict = 'retry';
      }
      settle(held, verdict);
    })();
    c.handlers.add(run);
    void run.finally(() => c.handlers.delete(run));
  }

  function settle(held: Held, verdict: QueueVerdict): void {
    if (!held.live) return;
    held.live = false;
    held.consumer.holding.delete(held);
    const q = queueOf(held.consumer.target);
    if (verdict === 'retry') q.ready.unshift({ content: held.message.content, redelivered: true });
    else if (verdict === 'dead') q.dead.push(held.message);
    schedule();
  }

  function requeueHeld(c: ConsumerState): void {
    const q = queueOf(c.target);
    for (const held of c.holding) {
      held.live = false;
      q.ready.unshift({ content: held.message.content, redelivered: true });
    }
    c.holding.clear();
  }

  function detach(c: ConsumerState): void {
    c.stopped = true;
    const q = queueOf(c.target);
    q.consumers = q.consumers.filter((x) => x !== c);
    mine.delete(c);
  }

  async function stopConsumer(c: ConsumerState): Promise<void> {
    c.stopped = true;
    while (c.handlers.size > 0) await Promise.allSettled([...c.handlers]);
    detach(c);
    schedule();
  }

  return {
    events,

    async publish(deliveries: readonly ClaimedDelivery[]) {
      open();
      if (!Array.isArray(deliveries)) throw new QueueInputError('publish takes an array of deliveries');
      const encoded = deliveries.map((d) => ({ target: d.target, content: encodeDelivery(d) }));
      for (const e of encoded) queueOf(e.target).ready.push({ content: e.content, redelivered: false });
      schedule();
    },

    async consume(target: string, options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer> {
      open();
      checkTarget(target);
      const prefetch = options?.prefetch;
      if (typeof prefetch !== 'number' || !Number.isSafeInteger(prefetch) || prefetch < 1) throw new QueueInputError('prefetch must be a whole number of at least 1', { field: 'prefetch' });
      if (typeof handler !== 'function') throw new QueueInputError('handler must be a function', { field: 'handler' });
      const c: ConsumerState = { target, prefetch, handler, holding: new Set(), handlers: new Set(), stopped: false };
      queueOf(target).consumers.push(c);
      mine.add(c);
      schedule();
      let stopping: Promise<void> | undefined;
      return { target, stop: () => (stopping ??= stopConsumer(c)) };
    },

    async depth(target: string): Promise<QueueDepth> {
      open();
      const q = queueOf(checkTarget(target));
      return { waiting: q.ready.length, dead: q.dead.length };
    },

    async ready() {
      return !closed;
    },

    close() {
      closed = true;
      closing ??= Promise.all([...mine].map(stopConsumer)).then(() => undefined);
      return closing;
    },

    abort() {
      closed = true;
      for (const c of [...mine]) {
        requeueHeld(c);
        detach(c);
      }
      schedule();
    },
  };
}
