export { createAmqpQueue } from './queue.ts';
export type { AmqpQueue } from './queue.ts';
export { AMQP_DEFAULTS, resolveAmqpOptions } from './options.ts';
export type { AmqpQueueOptions, ResolvedAmqpOptions } from './options.ts';
export { namesOf, queueArguments } from './topology.ts';
export type { Names } from './topology.ts';
export { importDriver } from './driver.ts';
