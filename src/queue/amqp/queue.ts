/**
 * The RabbitMQ queue (AMQP 0-9-1, amqplib): durable quorum queues, publisher confirms, manual acks,
 * a dead-letter exchange, prefetch per consumer, and a connection that comes back by itself.
 *
 * - publish() goes through a confirm channel with `mandatory` set and resolves only when the broker has
 *   confirmed every message; a message it returns (no queue bound) or nacks (queue full) is refused.
 *   Until then the relay keeps the rows: nothing counts as handed over on the strength of a write alone.
 * - Each consumer has its own channel with `prefetch` as its limit; a message is acked, requeued or
 *   rejected (to the DLX) only after the handler answered. If the channel dies first, the broker gives
 *   the message out again.
 * - A lost connection is reopened with backoff (amqplib's recovery); on every connect the topology is
 *   declared again and every consumer resumes. While it is down, publish() and depth() fail at once with
 *   BLH_ERR_QUEUE_UNAVAILABLE — the callers (relay, worker) retry.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Message, RecoveringChannelModel } from 'amqplib';
import type { ClaimedDelivery } from '../../ports/store.ts';
import { QueueClosedError, QueueInputError, QueueOpenError, QueueRefusedError, QueueTopologyError, QueueUnavailableError } from '../errors.ts';
import { checkTarget, decodeDelivery, encodeDelivery } from '../message.ts';
import type { Consumer, ConsumeOptions, DeliveryHandler, Queue, QueueDepth, QueueEvents, QueueVerdict } from '../port.ts';
import { loadDriver } from './driver.ts';
import { describeBroker, resolveAmqpOptions } from './options.ts';
import type { AmqpQueueOptions, ResolvedAmqpOptions } from './options.ts';
import { declareTarget, isPreconditionFailed, namesOf } from './topology.ts';
import type { Names } from './topology.ts';

export interface AmqpQueue extends Queue {
  readonly options: Omit<ResolvedAmqpOptions, 'url' | 'logger'> & { broker: string };
  /** The broker-side names of a target's queues and exchanges. */
  names(target: string): Names;
}

interface ConsumerState {
  target: string;
  prefetch: number;
  handler: DeliveryHandler;
  channel: Channel | undefined;
  tag: string | undefined;
  handlers: Set<Promise<void>>;
  stopped: boolean;
  restartTimer: NodeJS.Timeout | undefined;
  starting: Promise<void> | undefined;
}

const RESTART_CONSUMER_MS = 1000;

const noop = () => undefined;

export async function createAmqpQueue(options: AmqpQueueOptions): Promise<AmqpQueue> {
  const o = resolveAmqpOptions(options);
  const broker = describeBroker(o.url);
  const log = o.logger;
  const amqp = await loadDriver();
  const events = new EventEmitter<QueueEvents>();
  const consumers = new Set<ConsumerState>();
  const declaring = new Map<string, Promise<void>>();
  let model: ChannelModel | undefined;
  let pub: Promise<ConfirmChannel> | undefined;
  let ops: Promise<Channel> | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;
  let connects = 0;
  let failedAttempts = 0;

  const names = (target: string) => namesOf(o.prefix, target);

  function open(): void {
    if (closed) throw new QueueClosedError();
  }

  function connected(): ChannelModel {
    if (!model) throw new QueueUnavailableError(`not connected to RabbitMQ at ${broker}; reconnecting`, undefined, { broker });
    return model;
  }

  /** Turns a driver error into ours: a clash of settings is a topology error, anything else the connection's. */
  function queueError(error: unknown, what: string): Error {
    if (error instanceof QueueTopologyError || error instanceof QueueRefusedError || error instanceof QueueUnavailableError) return error;
    if (isPreconditionFailed(error)) return new QueueTopologyError((error as { declaring?: string }).declaring ?? o.prefix, error);
    return new QueueUnavailableError(`${what} failed: ${(error as Error)?.message ?? String(error)}`, error, { broker });
  }

  /** A channel of the current connection whose errors are logged, never thrown at the process. */
  async function channel(m: ChannelModel, confirm: boolean): Promise<Channel> {
    const ch = confirm ? await m.createConfirmChannel() : await m.createChannel();
    ch.on('error', (error: Error) => log.debug({ err: error, broker }, 'queue: channel closed by the broker'));
    return ch;
  }

  /** Declares `target`'s topology once per connection; concurrent callers share the work. */
  function ensureTarget(target: string): Promise<void> {
    const m = connected();
    let p = declaring.get(target);
    if (!p) {
      const declared: Promise<void> = (async () => {
        const ch = await channel(m, false);
        try {
          await declareTarget(ch, names(target), target, o);
        } finally {
          await ch.close().catch(noop);
        }
      })().catch((error: unknown) => {
        if (declaring.get(target) === declared) declaring.delete(target);
        throw queueError(error, `declaring the queues of target "${target}"`);
      });
      declaring.set(target, declared);
      p = declared;
    }
    return p;
  }

  function publishChannel(): Promise<ConfirmChannel> {
    const m = connected();
    if (!pub) {
      const p = channel(m, true).then((ch) => {
        const c = ch as ConfirmChannel;
        c.on('close', () => {
          if (pub === p) pub = undefined;
        });
        c.on('return', (message: Message) => returned.add(String(message.properties.messageId)));
        return c;
      });
      pub = p;
      p.catch(() => {
        if (pub === p) pub = undefined;
      });
    }
    return pub;
  }

  function opsChannel(): Promise<Channel> {
    const m = connected();
    if (!ops) {
      const p = channel(m, false).then((ch) => {
        ch.on('close', () => {
          if (ops === p) ops = undefined;
        });
        return ch;
      });
      ops = p;
      p.catch(() => {
        if (ops === p) ops = undefined;
      });
    }
    return ops;
  }

  /** Message ids the broker returned as unroutable; their confirm is then a refusal. */
  const returned = new Set<string>();

  function confirmOne(ch: ConfirmChannel, target: string, content: Buffer): { sent: boolean; confirmed: Promise<void> } {
    const messageId = randomUUID();
    let sent = true;
    const confirmed = new Promise<void>((resolve, reject) => {
      try {
        sent = ch.publish(
          o.prefix,
          target,
          content,
          { persistent: true, mandatory: true, contentType: 'application/json', messageId, type: 'bilhetagem.delivery' },
          (error: unknown) => {
            const wasReturned = returned.delete(messageId);
            if (error) {
              const message = (error as Error)?.message ?? String(error);
              if (message.includes('nacked')) reject(new QueueRefusedError(`RabbitMQ refused a message for target "${target}" (the queue is full or unavailable)`, { target }));
              else reject(new QueueUnavailableError(`the connection to RabbitMQ was lost before it confirmed a message for target "${target}"`, error, { target, broker }));
            } else if (wasReturned) {
              // No queue took it: the queue was deleted under us. Declare it again on the next publish.
              declaring.delete(target);
              reject(new QueueRefusedError(`RabbitMQ could not route a message for target "${target}": its queue ${names(target).queue} is missing`, { target }));
            } else resolve();
          },
        );
      } catch (error) {
        sent = true;
        reject(new QueueUnavailableError(`publishing to RabbitMQ failed: ${(error as Error).message}`, error, { target, broker }));
      }
    });
    return { sent, confirmed };
  }

  async function publish(deliveries: readonly ClaimedDelivery[]): Promise<void> {
    open();
    if (!Array.isArray(deliveries)) throw new QueueInputError('publish takes an array of deliveries');
    const encoded = deliveries.map((d) => ({ target: d.target, content: encodeDelivery(d) }));
    if (encoded.length === 0) return;
    for (const target of new Set(encoded.map((e) => e.target))) await ensureTarget(target);
    let ch: ConfirmChannel;
    try {
      ch = await publishChannel();
    } catch (error) {
      throw queueError(error, 'opening a publish channel');
    }
    const confirms: Promise<void>[] = [];
    for (const e of encoded) {
      const { sent, confirmed } = confirmOne(ch, e.target, e.content);
      confirmed.catch(noop); // awaited below, all together
      confirms.push(confirmed);
      if (!sent) await drained(ch); // the socket's buffer is full: wait before writing more
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new QueueUnavailableError(`RabbitMQ did not confirm ${encoded.length} message(s) within ${o.publishTimeoutMs} ms`, undefined, { broker })),
        o.publishTimeoutMs,
      );
    });
    try {
      await Promise.race([Promise.all(confirms), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /* ------------------------------------------------------------------ consumers */

  /** Opens the consumer's channel on `m` and starts consuming; a start already under way is joined. */
  function startConsumer(m: ChannelModel, c: ConsumerState): Promise<void> {
    c.starting ??= openConsumer(m, c).finally(() => {
      c.starting = undefined;
    });
    return c.starting;
  }

  async function openConsumer(m: ChannelModel, c: ConsumerState): Promise<void> {
    if (c.channel) return;
    await ensureTarget(c.target);
    const ch = await channel(m, false);
    let alive = true;
    ch.on('close', () => {
      alive = false;
      if (c.channel !== ch) return;
      c.channel = undefined;
      c.tag = undefined;
      // Closed by the broker while the connection lives on (e.g. a bad ack): start again shortly.
      if (!closed && !c.stopped && model === m) restartLater(c);
    });
    try {
      await ch.prefetch(c.prefetch, false);
      c.channel = ch;
      const { consumerTag } = await ch.consume(names(c.target).queue, (message) => onMessage(c, ch, () => alive, message), { noAck: false });
      c.tag = consumerTag;
    } catch (error) {
      c.channel = undefined;
      await ch.close().catch(noop);
      throw queueError(error, `consuming target "${c.target}"`);
    }
  }

  function restartLater(c: ConsumerState): void {
    if (c.restartTimer || c.stopped || closed) return;
    c.restartTimer = setTimeout(() => {
      c.restartTimer = undefined;
      const m = model;
      if (!m || c.stopped || closed || c.channel) return;
      startConsumer(m, c).catch((error: unknown) => {
        log.warn({ err: error, target: c.target, broker }, 'queue: restarting a consumer failed; trying again');
        restartLater(c);
      });
    }, RESTART_CONSUMER_MS);
    c.restartTimer.unref();
  }

  function onMessage(c: ConsumerState, ch: Channel, alive: () => boolean, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled the consumer (its queue was deleted): declare and consume again.
      log.warn({ target: c.target, broker }, 'queue: the broker cancelled a consumer; resuming');
      if (c.channel === ch) c.channel = undefined;
      declaring.delete(c.target);
      void ch.close().catch(noop);
      restartLater(c);
      return;
    }
    let delivery;
    try {
      delivery = { ...decodeDelivery(message.content), redelivered: message.fields.redelivered };
    } catch (error) {
      safely(() => ch.nack(message, false, false));
      log.error({ err: error, target: c.target }, 'queue: a message could not be read; dead-lettered');
      events.emit('message:malformed', { target: c.target, error: error as Error });
      return;
    }
    const run = (async () => {
      let verdict: QueueVerdict;
      try {
        verdict = await c.handler(delivery);
      } catch (error) {
        log.warn({ err: error, target: c.target, rowId: delivery.id }, 'queue: the handler failed; the message goes back to the queue');
        verdict = 'retry';
      }
      // The channel it came on is gone: the broker has already put the message back for someone else.
      if (!alive()) return;
      safely(() => (verdict === 'ack' ? ch.ack(message) : ch.nack(message, false, verdict === 'retry')));
    })();
    c.handlers.add(run);
    void run.finally(() => c.handlers.delete(run));
  }

  async function stopConsumer(c: ConsumerState): Promise<void> {
    c.stopped = true;
    clearTimeout(c.restartTimer);
    const ch = c.channel;
    if (ch && c.tag) await ch.cancel(c.tag).catch(noop);
    while (c.handlers.size > 0) await Promise.allSettled([...c.handlers]);
    if (ch) await ch.close().catch(noop);
    c.channel = undefined;
    consumers.delete(c);
  }

  /* ------------------------------------------------------------------ connection */

  // Runs on every (re)connect before amqplib hands the connection out: consumers resume here. Its own
  // 'close' and 'error' listeners go on first, because amqplib binds its own only after setup: a
  // connection that dies during setup must fail setup (so amqplib reconnects), never pass for live.
  async function setup(m: ChannelModel): Promise<void> {
    let dead = false;
    m.on('error', (error: Error) => log.debug({ err: error, broker }, 'queue: connection error'));
    m.on('close', () => {
      dead = true;
      if (model === m) forget();
    });
    model = m;
    declaring.clear();
    try {
      for (const c of consumers) if (!c.stopped) await startConsumer(m, c);
      if (dead) throw new QueueUnavailableError('the connection closed while it was being set up', undefined, { broker });
    } catch (error) {
      if (model === m) forget();
      throw error;
    }
  }

  /** The connection is gone: nothing of it may be used any more. */
  function forget(): void {
    model = undefined;
    pub = undefined;
    ops = undefined;
    declaring.clear();
    returned.clear();
    for (const c of consumers) {
      c.channel = undefined;
      c.tag = undefined;
    }
  }

  let recovering: RecoveringChannelModel;
  try {
    recovering = await amqp.connect(withHeartbeat(o.url, o.heartbeatSeconds), {
      timeout: o.connectTimeoutMs,
      clientProperties: { connection_name: `bilhetagem ${hostname()}:${process.pid}` },
      recovery: {
        initialDelay: o.reconnect.initialDelayMs,
        maxDelay: o.reconnect.maxDelayMs,
        initialMaxRetries: 0,
        waitForConnect: false,
        setup,
      },
    });
  } catch (error) {
    throw new QueueOpenError(broker, error);
  }
  recovering.on('error', (error: Error) => log.debug({ err: error, broker }, 'queue: connection error'));
  recovering.on('disconnect', (error: Error) => {
    forget();
    if (closed) return;
    log.warn({ err: error, broker }, 'queue: lost the connection to RabbitMQ; reconnecting');
    events.emit('queue:disconnected', { error });
  });
  recovering.on('reconnect-scheduled', ({ attempt, delay, error }: { attempt: number; delay: number; error: Error }) => {
    failedAttempts = attempt;
    log.debug({ attempt, delayMs: delay, err: error, broker }, 'queue: reconnecting');
  });
  recovering.on('connect', () => {
    connects += 1;
    if (connects === 1) return;
    log.info({ broker, attempts: failedAttempts }, 'queue: reconnected to RabbitMQ');
    events.emit('queue:reconnected', { attempts: failedAttempts });
    failedAttempts = 0;
  });

  try {
    await recovering.waitForConnect();
  } catch (error) {
    await recovering.close().catch(noop);
    throw error instanceof QueueTopologyError ? error : new QueueOpenError(broker, error);
  }

  return {
    events,
    options: { prefix: o.prefix, heartbeatSeconds: o.heartbeatSeconds, connectTimeoutMs: o.connectTimeoutMs, publishTimeoutMs: o.publishTimeoutMs, reconnect: o.reconnect, deliveryLimit: o.deliveryLimit, maxLength: o.maxLength, broker },
    names,
    publish,

    async consume(target: string, options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer> {
      open();
      checkTarget(target);
      const prefetch = options?.prefetch;
      if (typeof prefetch !== 'number' || !Number.isSafeInteger(prefetch) || prefetch < 1 || prefetch > 65_535) {
        throw new QueueInputError('prefetch must be a whole number from 1 to 65535', { field: 'prefetch' });
      }
      if (typeof handler !== 'function') throw new QueueInputError('handler must be a function', { field: 'handler' });
      const c: ConsumerState = { target, prefetch, handler, channel: undefined, tag: undefined, handlers: new Set(), stopped: false, restartTimer: undefined, starting: undefined };
      consumers.add(c);
      // While the broker is away the consumer waits in `consumers`; setup() starts it on the next connect.
      if (model) {
        try {
          await startConsumer(model, c);
        } catch (error) {
          if (error instanceof QueueTopologyError) {
            consumers.delete(c);
            throw error;
          }
          restartLater(c); // the connection dropped meanwhile, or a passing failure
        }
      }
      let stopping: Promise<void> | undefined;
      return { target, stop: () => (stopping ??= stopConsumer(c)) };
    },

    async depth(target: string): Promise<QueueDepth> {
      open();
      const n = names(checkTarget(target));
      await ensureTarget(target);
      try {
        const ch = await opsChannel();
        const [main, dead] = await Promise.all([ch.checkQueue(n.queue), ch.checkQueue(n.deadQueue)]);
        return { waiting: main.messageCount, dead: dead.messageCount };
      } catch (error) {
        throw queueError(error, `reading the depth of target "${target}"`);
      }
    },

    async ready() {
      return !closed && model !== undefined;
    },

    close() {
      closed = true;
      closing ??= (async () => {
        await Promise.all([...consumers].map((c) => stopConsumer(c)));
        await recovering.close().catch(noop);
        model = undefined;
      })();
      return closing;
    },
  };
}

/** The heartbeat goes in the URL (amqplib reads it there); one given in the URL wins. */
function withHeartbeat(url: string, seconds: number): string {
  const u = new URL(url);
  if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(seconds));
  return u.toString();
}

/** Resolves when the channel can take more writes, or when it closed (then the confirms fail on their own). */
function drained(ch: Channel): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      ch.off('drain', done);
      ch.off('close', done);
      resolve();
    };
    ch.on('drain', done);
    ch.on('close', done);
  });
}

/** ack/nack on a channel that closed meanwhile throws; the broker redelivers the message anyway. */
function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // nothing to do
  }
}
