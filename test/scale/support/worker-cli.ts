/**
 * `bilhetagem worker --store ... --queue ...` for the scale test, run from source with tsx.
 *
 * When src/cli/commands/worker.ts takes --queue (the change proposed beside this test), this runs that
 * command exactly as `bilhetagem worker` would. Until then it runs the same steps from the library —
 * store from --store, RabbitMQ from --queue, the config file's targets, createQueueWorker, SIGTERM drains —
 * and logs the same `worker:started` line.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import * as serve from '../../../src/cli/commands/serve.ts';
import * as worker from '../../../src/cli/commands/worker.ts';
import type { CliContext } from '../../../src/cli/context.ts';
import type { TargetsConfig } from '../../../src/forwarder/index.ts';
import { createAmqpQueue } from '../../../src/queue/amqp/index.ts';
import { createQueueWorker } from '../../../src/queue/worker.ts';
import { createLogger } from '../../../src/server/logger.ts';

const ctx: CliContext = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd(), exitCode: 0 };

const program = new Command('bilhetagem').exitOverride();
worker.register(program, ctx);
const real = program.commands.find((c) => c.name() === 'worker')!;

if (real.options.some((o) => o.long === '--queue')) {
  await program.parseAsync(['worker', ...process.argv.slice(2)], { from: 'user' });
} else {
  const fallback = new Command('worker')
    .requiredOption('--store <url>')
    .requiredOption('--queue <url>')
    .option('--prefetch <n>', '', (v) => Number(v), 50)
    .option('--log-level <level>', '', 'info')
    .requiredOption('--config <file>')
    .exitOverride();
  fallback.parse(process.argv.slice(2), { from: 'user' });
  const o = fallback.opts() as { store: string; queue: string; prefetch: number; logLevel: string; config: string };
  const targets = (JSON.parse(readFileSync(resolve(o.config), 'utf8')) as { targets: TargetsConfig }).targets;
  const logger = createLogger({ level: o.logLevel as never, destination: process.stdout });
  const spec = serve.storeSpec(ctx, { db: 'unused', store: o.store });
  const store = await serve.openStore(spec, 'NORMAL');
  const queue = await createAmqpQueue({ url: o.queue, logger });
  const forwarder = createQueueWorker({ store, queue, targets, env: process.env, prefetch: o.prefetch, logger });
  await forwarder.start();
  logger.info({ event: 'worker:started', db: serve.describeStore(spec), queue: queue.options.broker, worker: forwarder.options.worker, targets: Object.keys(forwarder.targets) }, 'forwarding');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    logger.info({ event: 'worker:draining', reason: signal }, 'draining');
    await forwarder.stop();
    await queue.close();
    await store.close();
    logger.info({ event: 'worker:stopped', reason: signal, targets: forwarder.stats().targets }, 'stopped');
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
