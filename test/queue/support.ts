/** Shared pieces of the queue tests: deliveries, waiting, gates, and RabbitMQ harnesses with clean-up. */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClaimedDelivery } from '../../src/ports/store.ts';
import { createAmqpQueue } from '../../src/queue/amqp/index.ts';
import type { AmqpQueue, AmqpQueueOptions } from '../../src/queue/amqp/index.ts';
import type { Queue } from '../../src/queue/port.ts';
import { createTcpProxy, RABBITMQ_URL } from '../support/services.ts';
import type { TcpProxy } from '../support/services.ts';

export { RABBITMQ_URL };

export function delivery(n: number, overrides: Partial<ClaimedDelivery> = {}): ClaimedDelivery {
  const now = Date.UTC(2026, 10, 25, 10, 0, 0);
  return {
    id: String(n),
    leaseToken: `lease-${n}`,
    target: 'lago',
    source: 'urn:test:voice',
    recordId: `rec-${n}`,
    body: { transaction_id: `urn:test:voice:rec-${n}`, properties: { minutes: n, note: 'ligação às 10h — ok' }, tags: ['a', 1, null] },
    attempts: 0,
    replays: 0,
    createdAt: new Date(now),
    nextAttemptAt: new Date(now),
    leaseExpiresAt: new Date(now + 300_000),
    ...overrides,
  };
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A promise to hold handlers on, opened from the test. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

export async function expectCode(p: Promise<unknown> | (() => unknown), code: string): Promise<Error & { code: string }> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (error) {
    if ((error as { code?: string }).code !== code) throw new Error(`expected ${code}, got ${(error as { code?: string }).code}: ${(error as Error).message}`);
    return error as Error & { code: string };
  }
  throw new Error(`expected ${code}, but it succeeded`);
}

/** Every target name the queue tests use, so clean-up knows what to delete. */
export const TEST_TARGETS = ['lago', 'stripe', 'billing', 'openmeter', 'default'];

export function testPrefix(): string {
  return `t${randomBytes(5).toString('hex')}`;
}

/**
 * Deletes the queues and exchanges of a prefix (and closes what is still open). Test prefixes are
 * random, so leftovers of a crashed run harm nobody, but a clean broker is easier to look at.
 */
export async function deletePrefix(prefix: string, targets = TEST_TARGETS): Promise<void> {
  const amqp = await import('amqplib');
  const connection = await amqp.connect(RABBITMQ_URL);
  try {
    const ch = await connection.createChannel();
    ch.on('error', () => undefined);
    for (const t of targets) {
      await ch.deleteQueue(`${prefix}.${t}`).catch(() => undefined);
      await ch.deleteQueue(`${prefix}.${t}.dead`).catch(() => undefined);
    }
    await ch.deleteExchange(prefix).catch(() => undefined);
    await ch.deleteExchange(`${prefix}.dlx`).catch(() => undefined);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * Connections to one prefix, each through a TCP proxy of its own, so one can be cut as a crash or an
 * outage would, without touching the others or the broker.
 */
export interface AmqpHarness {
  prefix: string;
  open(options?: Partial<AmqpQueueOptions>): Promise<AmqpQueue>;
  proxyOf(queue: Queue): TcpProxy;
  /** Every connection's proxy: cutting them all is the broker going away. */
  proxies(): TcpProxy[];
  crash(queue: Queue): Promise<void>;
  cleanup(): Promise<void>;
}

export async function amqpHarness(): Promise<AmqpHarness> {
  const prefix = testPrefix();
  const opened: { queue: AmqpQueue; proxy: TcpProxy }[] = [];
  return {
    prefix,
    async open(options = {}) {
      const proxy = await createTcpProxy(RABBITMQ_URL);
      const queue = await createAmqpQueue({ url: proxy.url, prefix, reconnect: { initialDelayMs: 20, maxDelayMs: 200 }, ...options });
      opened.push({ queue, proxy });
      return queue;
    },
    proxyOf(queue) {
      return opened.find((o) => o.queue === queue)!.proxy;
    },
    proxies() {
      return opened.map((o) => o.proxy);
    },
    async crash(queue) {
      const o = opened.find((x) => x.queue === queue)!;
      await o.proxy.cut();
    },
    async cleanup() {
      for (const o of opened) {
        await o.proxy.cut();
        await Promise.race([o.queue.close(), sleep(2000)]);
        await o.proxy.close();
      }
      await deletePrefix(prefix);
    },
  };
}

/**
 * RabbitMQ is shared by every test file that uses it, and one of them restarts it. Files that need the
 * broker take this lock for their whole run, so a restart never lands in another file's test. The lock
 * is a folder holding the owner's pid; a folder left by a dead process is taken over.
 */
export async function lockBroker(): Promise<() => void> {
  const dir = join(tmpdir(), 'bilhetagem-rabbitmq-tests.lock');
  const me = `${process.pid}:${randomUUID()}`;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'owner'), me);
      return () => {
        try {
          if (readFileSync(join(dir, 'owner'), 'utf8') === me) rmSync(dir, { recursive: true, force: true });
        } catch {
          // already gone
        }
      };
    } catch {
      let owner = '';
      try {
        owner = readFileSync(join(dir, 'owner'), 'utf8');
      } catch {
        // being created or removed right now
      }
      const pid = Number(owner.split(':')[0]);
      if (owner && !alive(pid)) rmSync(dir, { recursive: true, force: true });
      await sleep(200);
    }
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
