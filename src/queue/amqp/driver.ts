/**
 * amqplib is an optional dependency: it is imported when the first RabbitMQ queue is created, never when
 * this module is, so programs that do not use RabbitMQ never need it installed.
 */
import type * as Amqp from 'amqplib';
import { QueueDriverMissingError } from '../errors.ts';

export type AmqpModule = typeof Amqp;

let driver: AmqpModule | undefined;

export async function loadDriver(): Promise<AmqpModule> {
  driver ??= await importDriver(() => import('amqplib'));
  return driver;
}

/** `importer` stands in for `import('amqplib')`, so a test can show what happens when it is missing. */
export async function importDriver(importer: () => Promise<unknown>): Promise<AmqpModule> {
  let loaded: unknown;
  try {
    loaded = await importer();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new QueueDriverMissingError('amqplib', error);
    throw error;
  }
  // amqplib is CommonJS: under ESM its exports may arrive as `default`.
  const mod = loaded as { default?: AmqpModule } & AmqpModule;
  return typeof mod.connect === 'function' ? mod : (mod.default as AmqpModule);
}
