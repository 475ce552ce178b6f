/** Handing committed records to workers through a queue: the port, the memory and RabbitMQ adapters, the relay and the queue worker. */
export type { Consumer, ConsumeOptions, DeliveryHandler, Logger, Queue, QueueDepth, QueuedDelivery, QueueEvents, QueueVerdict } from './port.ts';
export { createMemoryBroker, createMemoryQueue } from './memory.ts';
export type { MemoryBroker, MemoryQueue, MemoryQueueOptions } from './memory.ts';
export { createAmqpQueue, AMQP_DEFAULTS } from './amqp/index.ts';
export type { AmqpQueue, AmqpQueueOptions } from './amqp/index.ts';
export { createRelay, RELAY_DEFAULTS } from './relay.ts';
export type { Relay, RelayEvents, RelayOptions, RelayStats, RelayTargetStats, ResolvedRelayOptions } from './relay.ts';
export { createQueueWorker, QUEUE_WORKER_DEFAULTS } from './worker.ts';
export type { QueueWorker, QueueWorkerOptions, QueueWorkerStats } from './worker.ts';
export { QueueError, QueueErrorCodes } from './errors.ts';
export type { QueueErrorCode } from './errors.ts';
