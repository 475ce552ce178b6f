/**
 * The queue conformance suite against a live RabbitMQ, then what only the RabbitMQ adapter can show:
 * quorum queues with a dead-letter exchange, publisher confirms that fail when the connection goes before
 * the confirm, refusals (a full queue, a deleted queue), reconnecting on its own without losing a message,
 * and the coded errors for a missing driver or an unreachable broker. Every test has a prefix of its own
 * and connects through a TCP proxy it can cut. Skipped with the reason printed when there is no RabbitMQ;
 * failed instead when BILHETAGEM_REQUIRE_SERVICES=1.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAmqpQueue, importDriver } from '../../src/queue/amqp/index.ts';

import type { QueuedDelivery } from '../../src/queue/port.ts';
import { requireService } from '../support/services.ts';
import { runQueueConformance } from './conformance.ts';
import { amqpHarness, delivery, expectCode, lockBroker, RABBITMQ_URL, sleep, waitFor } from './support.ts';
import type { AmqpHarness } from './support.ts';

const rabbitmq = await requireService('rabbitmq');

describe.skipIf(!rabbitmq.available)('rabbitmq', () => {
  let unlock: () => void = () => undefined;
  beforeAll(async () => {
    unlock = await lockBroker();
  }, 600_000);
  afterAll(() => unlock());

  runQueueConformance('rabbitmq', amqpHarness);

  describe('rabbitmq queue', () => {
    let h: AmqpHarness;
    beforeEach(async () => {
      h = await amqpHarness();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    /** A plain amqplib channel beside the adapter, to look at and poke the broker directly. */
    async function raw() {
      const amqp = await import('amqplib');
      const connection = await amqp.connect(RABBITMQ_URL);
      const ch = await connection.createChannel();
      ch.on('error', () => undefined);
      return { connection, ch };
    }

    it('declares a durable quorum queue per target, with the dead-letter exchange behind it', async () => {
      const q = await h.open();
      await q.publish([delivery(1)]);
      const { connection, ch } = await raw();
      try {
        // Declaring the same name as a classic queue is refused: the broker has a quorum queue there.
        await expect(ch.assertQueue(`${h.prefix}.lago`, { durable: true, arguments: { 'x-queue-type': 'classic' } })).rejects.toThrow(/PRECONDITION_FAILED/);
        const again = await connection.createChannel();
        again.on('error', () => undefined);
        // ... and redeclaring it with our arguments is accepted, so these are exactly its arguments.
        const ok = await again.assertQueue(`${h.prefix}.lago`, {
          durable: true,
          arguments: { 'x-queue-type': 'quorum', 'x-dead-letter-exchange': `${h.prefix}.dlx`, 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish', 'x-delivery-limit': 20 },
        });
        expect(ok.messageCount).toBe(1);
        await again.checkExchange(`${h.prefix}.dlx`);
        await again.checkQueue(`${h.prefix}.lago.dead`);
      } finally {
        await connection.close();
      }
      expect(q.names('lago')).toEqual({ exchange: h.prefix, queue: `${h.prefix}.lago`, deadExchange: `${h.prefix}.dlx`, deadQueue: `${h.prefix}.lago.dead` });
    });

    it('refuses with BLH_ERR_QUEUE_TOPOLOGY when a queue of its name exists with other settings', async () => {
      const { connection, ch } = await raw();
      await ch.assertQueue(`${h.prefix}.lago`, { durable: true });
      await connection.close();
      const q = await h.open();
      const error = await expectCode(q.publish([delivery(1)]), 'BLH_ERR_QUEUE_TOPOLOGY');
      expect(error.message).toContain(`${h.prefix}.lago`);
      await expectCode(q.consume('lago', { prefetch: 1 }, async () => 'ack'), 'BLH_ERR_QUEUE_TOPOLOGY');
      // Other targets are unaffected.
      await q.publish([delivery(2, { target: 'stripe' })]);
      expect((await q.depth('stripe')).waiting).toBe(1);
    });

    it('fails a publish whose confirm cannot arrive (connection cut) with BLH_ERR_QUEUE_UNAVAILABLE, then reconnects by itself', async () => {
      const q = await h.open();
      const proxy = h.proxyOf(q);
      await q.publish([delivery(0)]); // topology declared, channel open
      const disconnected = new Promise((r) => q.events.once('queue:disconnected', r));
      const pending = q.publish(Array.from({ length: 200 }, (_, i) => delivery(i + 1)));
      await proxy.cut(); // in the same turn: no confirm can have come back yet
      await expectCode(pending, 'BLH_ERR_QUEUE_UNAVAILABLE');
      await disconnected;
      expect(await q.ready()).toBe(false);
      await expectCode(q.publish([delivery(500)]), 'BLH_ERR_QUEUE_UNAVAILABLE');
      await expectCode(q.depth('lago'), 'BLH_ERR_QUEUE_UNAVAILABLE');
      const reconnected = new Promise((r) => q.events.once('queue:reconnected', r));
      await proxy.restore();
      await reconnected;
      expect(await q.ready()).toBe(true);
      await q.publish([delivery(501)]);
      const depth = (await q.depth('lago')).waiting;
      // 0 and 501 for sure; of the 200 unconfirmed ones, anything from none to all may have landed.
      expect(depth).toBeGreaterThanOrEqual(2);
      expect(depth).toBeLessThanOrEqual(202);
    });

    it('keeps consuming across connection cuts, and loses nothing that was confirmed', async () => {
      const publisher = await h.open();
      const consumerConn = await h.open();
      const seen = new Map<string, number>();
      await consumerConn.consume('lago', { prefetch: 20 }, async (d: QueuedDelivery) => {
        seen.set(d.id, (seen.get(d.id) ?? 0) + 1);
        await sleep(1);
        return 'ack';
      });
      const confirmed: string[] = [];
      const pub = h.proxyOf(publisher);
      const sub = h.proxyOf(consumerConn);
      // A publisher that keeps trying, as the relay does: a batch counts only when publish() resolved.
      let next = 0;
      const until = Date.now() + 4000;
      const publishing = (async () => {
        while (Date.now() < until) {
          const batch = Array.from({ length: 20 }, () => delivery(++next));
          for (;;) {
            try {
              await publisher.publish(batch);
              confirmed.push(...batch.map((d) => d.id));
              break;
            } catch (error) {
              if ((error as { code?: string }).code !== 'BLH_ERR_QUEUE_UNAVAILABLE') throw error;
              await sleep(50);
            }
          }
        }
      })();
      for (let i = 0; i < 3; i++) {
        await sleep(500);
        await sub.cut();
        await sleep(200);
        await pub.cut();
        await sleep(200);
        await sub.restore();
        await pub.restore();
      }
      await publishing;
      await waitFor(() => confirmed.every((id) => seen.has(id)), 20_000, 'every confirmed message consumed');
      expect(confirmed.length).toBeGreaterThan(100);
      // Redeliveries after a cut are allowed (the ack may have been lost with the connection).
      // Every message consumed is one that was published (ids 1..next), whatever the cuts did to it.
      expect([...seen.keys()].filter((id) => !(Number(id) >= 1 && Number(id) <= next))).toEqual([]);
      expect(seen.size).toBeLessThanOrEqual(next);
    });

    it('refuses publishes once a queue is over maxLength with BLH_ERR_QUEUE_REFUSED, and keeps what it had', async () => {
      const q = await h.open({ maxLength: 2 });
      await q.publish([delivery(1), delivery(2)]);
      // A quorum queue checks the limit before it takes a message, so one more may get in.
      let refused = 0;
      for (let n = 3; n <= 6; n++) {
        try {
          await q.publish([delivery(n)]);
        } catch (error) {
          expect((error as { code?: string }).code).toBe('BLH_ERR_QUEUE_REFUSED');
          refused += 1;
        }
      }
      expect(refused).toBeGreaterThanOrEqual(3);
      expect((await q.depth('lago')).waiting).toBe(6 - refused);
    });

    it('refuses a message that could not be routed (its queue was deleted), then declares the queue again', async () => {
      const q = await h.open();
      await q.publish([delivery(1)]);
      const { connection, ch } = await raw();
      await ch.deleteQueue(`${h.prefix}.lago`);
      await connection.close();
      await expectCode(q.publish([delivery(2)]), 'BLH_ERR_QUEUE_REFUSED');
      await q.publish([delivery(3)]);
      expect((await q.depth('lago')).waiting).toBe(1);
    });

    it('dead-letters a message it cannot read, without calling the handler', async () => {
      const q = await h.open();
      const received: string[] = [];
      const malformed = new Promise<{ target: string }>((r) => q.events.once('message:malformed', r));
      await q.consume('lago', { prefetch: 5 }, async (d) => {
        received.push(d.id);
        return 'ack';
      });
      const { connection } = await raw();
      const ch = await connection.createConfirmChannel();
      ch.publish(h.prefix, 'lago', Buffer.from('not json'), { persistent: true });
      ch.publish(h.prefix, 'lago', Buffer.from(JSON.stringify({ v: 1, id: 'x' })), { persistent: true });
      await ch.waitForConfirms();
      await connection.close();
      expect((await malformed).target).toBe('lago');
      await waitFor(async () => (await q.depth('lago')).dead === 2, 10_000, 'two dead letters');
      expect(received).toEqual([]);
    });

    it('dead-letters a message given back more often than deliveryLimit', async () => {
      const q = await h.open({ deliveryLimit: 2 });
      let calls = 0;
      await q.consume('lago', { prefetch: 1 }, async () => {
        calls += 1;
        return 'retry';
      });
      await q.publish([delivery(1)]);
      await waitFor(async () => (await q.depth('lago')).dead === 1, 10_000, 'the dead letter');
      expect(calls).toBe(3);
    });

    it('fails to start with BLH_ERR_QUEUE_OPEN when the broker cannot be reached or refuses the credentials', async () => {
      const unreachable = await expectCode(createAmqpQueue({ url: 'amqp://guest:guest@127.0.0.1:1', connectTimeoutMs: 2000 }), 'BLH_ERR_QUEUE_OPEN');
      expect(unreachable.message).toContain('127.0.0.1:1');
      const url = new URL(RABBITMQ_URL);
      url.password = 'wrong-password';
      const refused = await expectCode(createAmqpQueue({ url: url.toString(), connectTimeoutMs: 5000 }), 'BLH_ERR_QUEUE_OPEN');
      expect(refused.message).not.toContain('wrong-password');
    });

    it('refuses unknown or bad options by name with BLH_ERR_OPTIONS', async () => {
      await expectCode(createAmqpQueue({ url: RABBITMQ_URL, prefetch: 1 } as never), 'BLH_ERR_OPTIONS');
      await expectCode(createAmqpQueue({ url: 'http://localhost' }), 'BLH_ERR_OPTIONS');
      await expectCode(createAmqpQueue({ url: RABBITMQ_URL, prefix: 'amq.mine' }), 'BLH_ERR_OPTIONS');
      await expectCode(createAmqpQueue({ url: RABBITMQ_URL, reconnect: { tries: 3 } } as never), 'BLH_ERR_OPTIONS');
    });
  });
});

describe('amqplib is optional', () => {
  it('a missing amqplib is BLH_ERR_DRIVER_MISSING, naming the package to install', async () => {
    const missing = Object.assign(new Error("Cannot find package 'amqplib'"), { code: 'ERR_MODULE_NOT_FOUND' });
    const error = await expectCode(importDriver(() => Promise.reject(missing)), 'BLH_ERR_DRIVER_MISSING');
    expect(error.message).toContain('npm install amqplib');
    expect((error as unknown as { details: { package: string } }).details.package).toBe('amqplib');
  });

  it('another failure while loading it is passed through', async () => {
    await expect(importDriver(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });

  it('loads the installed amqplib', async () => {
    const amqp = await importDriver(() => import('amqplib'));
    expect(typeof amqp.connect).toBe('function');
  });
});

