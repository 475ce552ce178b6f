/**
 * What bilhetagem declares on the broker, per target:
 *
 *   exchange <prefix> (direct) ──routing key = target──▶ quorum queue <prefix>.<target>
 *                                                          │ rejected ('dead'), over the delivery limit
 *   exchange <prefix>.dlx (direct) ◀───────────────────────┘
 *        └──routing key = target──▶ quorum queue <prefix>.<target>.dead
 *
 * Quorum queues are replicated and durable: a publisher confirm means the message is on disk on a
 * majority of nodes. Dead-lettering is at-least-once (a message is not dropped on its way to the DLX),
 * which RabbitMQ allows only with `x-overflow: reject-publish` — so a full queue (maxLength) refuses new
 * publishes instead of dropping old messages, and the relay keeps the rows until there is room.
 */
import type { Channel } from 'amqplib';

export interface Names {
  exchange: string;
  queue: string;
  deadExchange: string;
  deadQueue: string;
}

export function namesOf(prefix: string, target: string): Names {
  return { exchange: prefix, queue: `${prefix}.${target}`, deadExchange: `${prefix}.dlx`, deadQueue: `${prefix}.${target}.dead` };
}

export interface TopologyOptions {
  deliveryLimit: number;
  maxLength: number;
}

/** The arguments of a target's queue; a queue declared before with other ones is refused by the broker (406). */
export function queueArguments(names: Names, o: TopologyOptions): Record<string, unknown> {
  return {
    'x-queue-type': 'quorum',
    'x-dead-letter-exchange': names.deadExchange,
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
    ...(o.deliveryLimit > 0 ? { 'x-delivery-limit': o.deliveryLimit } : {}),
    ...(o.maxLength > 0 ? { 'x-max-length': o.maxLength } : {}),
  };
}

/**
 * Declares the exchanges, both queues of `target` and their bindings (all idempotent). On a failure it
 * throws with `declaring` set to the name it was declaring, so the caller can say which one clashed.
 */
export async function declareTarget(ch: Channel, names: Names, target: string, o: TopologyOptions): Promise<void> {
  let declaring = names.exchange;
  try {
    await ch.assertExchange(names.exchange, 'direct', { durable: true });
    declaring = names.deadExchange;
    await ch.assertExchange(names.deadExchange, 'direct', { durable: true });
    declaring = names.deadQueue;
    await ch.assertQueue(names.deadQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await ch.bindQueue(names.deadQueue, names.deadExchange, target);
    declaring = names.queue;
    await ch.assertQueue(names.queue, { durable: true, arguments: queueArguments(names, o) });
    await ch.bindQueue(names.queue, names.exchange, target);
  } catch (error) {
    throw Object.assign(error as Error, { declaring });
  }
}

/** AMQP reply code 406 PRECONDITION_FAILED: something of that name exists with other settings. */
export function isPreconditionFailed(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return e?.code === 406 || (typeof e?.message === 'string' && e.message.includes('PRECONDITION_FAILED'));
}
