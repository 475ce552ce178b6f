/**
 * One suite for every queue adapter (memory, RabbitMQ): what the relay and the queue worker rely on. An
 * adapter passes when this passes against a fresh broker namespace per test; what only one adapter can
 * show (topology, publisher confirms over a cut connection, reconnects) lives in that adapter's file.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Consumer, Queue, QueuedDelivery, QueueVerdict } from '../../src/queue/port.ts';
import { delivery, expectCode, gate, sleep, waitFor } from './support.ts';

/** Connections to one broker namespace, fresh for each test. */
export interface QueueHarness {
  open(): Promise<Queue>;
  /** Ends a connection as a crash would: no handler is waited for; what it held goes back to the queue. */
  crash(queue: Queue): Promise<void>;
  cleanup(): Promise<void>;
}

interface Collector {
  received: QueuedDelivery[];
  consumer: Consumer;
}

async function collect(queue: Queue, target: string, prefetch: number, verdict: (d: QueuedDelivery) => QueueVerdict | Promise<QueueVerdict> = () => 'ack'): Promise<Collector> {
  const received: QueuedDelivery[] = [];
  const consumer = await queue.consume(target, { prefetch }, async (d) => {
    received.push(d);
    return verdict(d);
  });
  return { received, consumer };
}

const ids = (ds: { id: string }[]) => ds.map((d) => d.id).sort((a, b) => Number(a) - Number(b));
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

export function runQueueConformance(name: string, makeHarness: () => Promise<QueueHarness>): void {
  describe(`${name} queue: conformance`, () => {
    let h: QueueHarness;
    let q: Queue;
    beforeEach(async () => {
      h = await makeHarness();
      q = await h.open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('hands out what was published, field for field, times as Dates', async () => {
      const sent = [delivery(1), delivery(2, { attempts: 3, replays: 1, body: 'plain text', firstTryAt: new Date(Date.UTC(2026, 10, 25, 9, 30)) }), delivery(3, { body: null })];
      await q.publish(sent);
      const c = await collect(q, 'lago', 10);
      await waitFor(() => c.received.length === 3, 10_000, 'three deliveries');
      const byId = new Map(c.received.map((d) => [d.id, d]));
      for (const d of sent) expect(byId.get(d.id)).toEqual({ ...d, redelivered: false });
      expect(byId.get('1')!.createdAt).toBeInstanceOf(Date);
      expect(byId.get('1')!).not.toHaveProperty('firstTryAt');
      expect(byId.get('2')!.firstTryAt).toEqual(new Date(Date.UTC(2026, 10, 25, 9, 30)));
    });

    it('publish of nothing resolves; depth counts what waits, per target', async () => {
      await q.publish([]);
      await q.publish(range(1, 5).map((n) => delivery(n)));
      await waitFor(async () => (await q.depth('lago')).waiting === 5, 5000, 'five waiting');
      expect(await q.depth('lago')).toEqual({ waiting: 5, dead: 0 });
      expect(await q.depth('stripe')).toEqual({ waiting: 0, dead: 0 });
    });

    it('keeps targets apart', async () => {
      await q.publish([delivery(1), delivery(2, { target: 'stripe' }), delivery(3)]);
      const lago = await collect(q, 'lago', 10);
      const stripe = await collect(q, 'stripe', 10);
      await waitFor(() => lago.received.length === 2 && stripe.received.length === 1, 10_000, 'both targets');
      expect(ids(lago.received)).toEqual(['1', '3']);
      expect(stripe.received.map((d) => d.target)).toEqual(['stripe']);
    });

    it('forgets an acked message', async () => {
      await q.publish([delivery(1), delivery(2)]);
      const first = await collect(q, 'lago', 10);
      await waitFor(() => first.received.length === 2, 10_000, 'two deliveries');
      await first.consumer.stop();
      const second = await collect(q, 'lago', 10);
      await sleep(300);
      expect(second.received).toEqual([]);
      expect(await q.depth('lago')).toEqual({ waiting: 0, dead: 0 });
    });

    it("gives a message back on 'retry', marked redelivered", async () => {
      await q.publish([delivery(1)]);
      const c = await collect(q, 'lago', 10, (d) => (d.redelivered ? 'ack' : 'retry'));
      await waitFor(() => c.received.length === 2, 10_000, 'the redelivery');
      expect(c.received.map((d) => [d.id, d.redelivered])).toEqual([
        ['1', false],
        ['1', true],
      ]);
      await sleep(200);
      expect(c.received).toHaveLength(2);
    });

    it('counts a handler that throws as retry', async () => {
      await q.publish([delivery(1)]);
      const c = await collect(q, 'lago', 10, (d) => {
        if (!d.redelivered) throw new Error('boom');
        return 'ack';
      });
      await waitFor(() => c.received.length === 2, 10_000, 'the redelivery');
      expect(c.received[1]!.redelivered).toBe(true);
    });

    it("moves a message answered 'dead' to the dead-letter queue and never hands it out again", async () => {
      await q.publish([delivery(1), delivery(2)]);
      const c = await collect(q, 'lago', 10, (d) => (d.id === '1' ? 'dead' : 'ack'));
      await waitFor(async () => (await q.depth('lago')).dead === 1, 10_000, 'one dead letter');
      await sleep(200);
      expect(ids(c.received)).toEqual(['1', '2']);
      expect(await q.depth('lago')).toEqual({ waiting: 0, dead: 1 });
    });

    it('holds at most prefetch messages unsettled per consumer', async () => {
      await q.publish(range(1, 12).map((n) => delivery(n)));
      const g = gate();
      let holding = 0;
      let most = 0;
      const c = await collect(q, 'lago', 3, async () => {
        holding += 1;
        most = Math.max(most, holding);
        await g.promise;
        holding -= 1;
        return 'ack' as const;
      });
      await waitFor(() => holding === 3, 10_000, 'three held');
      await sleep(300);
      expect(holding).toBe(3);
      expect(c.received).toHaveLength(3);
      g.open();
      await waitFor(() => c.received.length === 12, 10_000, 'all twelve');
      expect(most).toBe(3);
      expect(ids(c.received)).toEqual(range(1, 12).map(String));
    });

    it('shares the work between consumers on two connections, each message once', async () => {
      const other = await h.open();
      const slow = () => sleep(5).then(() => 'ack' as const);
      const a = await collect(q, 'lago', 4, slow);
      const b = await collect(other, 'lago', 4, slow);
      await q.publish(range(1, 40).map((n) => delivery(n)));
      await waitFor(() => a.received.length + b.received.length >= 40, 15_000, 'forty deliveries');
      await sleep(200);
      expect(ids([...a.received, ...b.received])).toEqual(range(1, 40).map(String));
      expect(a.received.length).toBeGreaterThan(0);
      expect(b.received.length).toBeGreaterThan(0);
    });

    it('gives what a crashed connection held to another consumer, marked redelivered', async () => {
      const g = gate();
      const doomed = await collect(q, 'lago', 5, async () => {
        await g.promise;
        return 'ack' as const;
      });
      await q.publish(range(1, 5).map((n) => delivery(n)));
      await waitFor(() => doomed.received.length === 5, 10_000, 'five held');
      const other = await h.open();
      const survivor = await collect(other, 'lago', 5);
      await sleep(100);
      expect(survivor.received).toEqual([]);
      await h.crash(q);
      await waitFor(() => survivor.received.length === 5, 15_000, 'the redeliveries');
      expect(ids(survivor.received)).toEqual(range(1, 5).map(String));
      expect(survivor.received.every((d) => d.redelivered)).toBe(true);
      g.open(); // the crashed consumer's verdicts come too late and change nothing
      await sleep(200);
      expect(survivor.received).toHaveLength(5);
    });

    it('stop() takes nothing new, waits for the handlers in flight and applies their verdicts', async () => {
      const g = gate();
      const c = await collect(q, 'lago', 2, async () => {
        await g.promise;
        return 'ack' as const;
      });
      await q.publish(range(1, 5).map((n) => delivery(n)));
      await waitFor(() => c.received.length === 2, 10_000, 'two held');
      let stopped = false;
      const stopping = c.consumer.stop().then(() => (stopped = true));
      await sleep(100);
      expect(stopped).toBe(false);
      g.open();
      await stopping;
      expect(c.received).toHaveLength(2);
      const next = await collect(q, 'lago', 10);
      await waitFor(() => next.received.length === 3, 10_000, 'the other three');
      await sleep(200);
      const heldFirst = new Set(c.received.map((d) => d.id));
      expect(ids(next.received)).toEqual(range(1, 5).map(String).filter((id) => !heldFirst.has(id)));
      expect(next.received.every((d) => !d.redelivered)).toBe(true);
    });

    it('keeps a published message after the connection that published it closes', async () => {
      await q.publish([delivery(7)]);
      await q.close();
      const other = await h.open();
      const c = await collect(other, 'lago', 1);
      await waitFor(() => c.received.length === 1, 10_000, 'the message');
      expect(c.received[0]!.id).toBe('7');
    });

    it('refuses malformed input with BLH_ERR_QUEUE_INPUT, publishing nothing of the call', async () => {
      const { leaseToken: _, ...noToken } = delivery(2);
      await expectCode(q.publish([delivery(1), noToken as never]), 'BLH_ERR_QUEUE_INPUT');
      await expectCode(q.publish([delivery(1, { target: 'no spaces' })]), 'BLH_ERR_QUEUE_INPUT');
      await expectCode(q.publish([delivery(1, { createdAt: new Date(Number.NaN) })]), 'BLH_ERR_QUEUE_INPUT');
      await expectCode(q.consume('lago', { prefetch: 0 }, async () => 'ack'), 'BLH_ERR_QUEUE_INPUT');
      await expectCode(q.consume('../etc', { prefetch: 1 }, async () => 'ack'), 'BLH_ERR_QUEUE_INPUT');
      await expectCode(q.depth(''), 'BLH_ERR_QUEUE_INPUT');
      expect((await q.depth('lago')).waiting).toBe(0);
    });

    it('is ready while open; close is idempotent and later calls fail with BLH_ERR_QUEUE_CLOSED', async () => {
      expect(await q.ready()).toBe(true);
      await q.close();
      await q.close();
      expect(await q.ready()).toBe(false);
      await expectCode(q.publish([delivery(1)]), 'BLH_ERR_QUEUE_CLOSED');
      await expectCode(q.consume('lago', { prefetch: 1 }, async () => 'ack'), 'BLH_ERR_QUEUE_CLOSED');
      await expectCode(q.depth('lago'), 'BLH_ERR_QUEUE_CLOSED');
    });
  });
}
