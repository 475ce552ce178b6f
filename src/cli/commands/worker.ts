/**
 * `bilhetagem worker`: the forwarder alone, against the --db database — for a forwarder in a process of
 * its own beside `serve`, or more than one. The targets are the config file's `targets` section, with
 * `${VAR}` taken from the environment. SIGTERM/SIGINT stop claiming, let the sends in flight finish and be
 * settled, hand back what was claimed but not sent, and close the database.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Command } from 'commander';
import { createSqliteStore } from '../../adapters/sqlite/index.ts';
import type { SqliteStore } from '../../adapters/sqlite/index.ts';
import { OptionsError } from '../../errors.ts';
import { createForwarder } from '../../forwarder/index.ts';
import type { Forwarder, Logger, TargetsConfig } from '../../forwarder/index.ts';
import { StoreOpenError } from '../../ports/errors.ts';
import type { OutboxStore } from '../../ports/store.ts';
import type { PostgresStore } from '../../adapters/postgres/index.ts';
import { createAmqpQueue } from '../../queue/amqp/index.ts';
import type { AmqpQueue } from '../../queue/amqp/index.ts';
import { createQueueWorker } from '../../queue/worker.ts';
import { describeStore, openStore, storeSpec } from '../store.ts';
import { createLogger } from '../../server/logger.ts';
import { addOptions, configSection, resolveOptions } from '../config.ts';
import type { Resolved } from '../config.ts';
import type { CliContext } from '../context.ts';

const OPTIONS = ['db', 'store', 'queue', 'prefetch', 'logLevel', 'leaseMs', 'pollIntervalMs', 'claimSize', 'metricsPort'] as const;
export type WorkerOptions = Resolved<(typeof OPTIONS)[number]>;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program.command('worker').description('run the forwarder alone: deliver the outbox of --db to the targets of the config file');
  addOptions(cmd, OPTIONS);
  cmd.addHelpText(
    'after',
    `
The targets come from the "targets" section of bilhetagem.config.json (docs/guides/forwarding.md); "\${VAR}"
in it is read from the environment. Logs are JSON lines on stdout. SIGTERM or SIGINT drains and exits.

Example:
  $ LAGO_API_KEY=... bilhetagem worker --db data/bilhetagem.db
  $ bilhetagem worker --metrics-port 9464 --log-level warn
  $ bilhetagem worker --store postgres://bilhetagem@db:5432/billing --queue amqp://bilhetagem@mq:5672 --prefetch 50`,
  );
  cmd.action(async () => {
    const o = resolveOptions(cmd, OPTIONS, ctx.env, ctx.cwd);
    const targets = configSection(cmd, 'targets', ctx.cwd);
    if (targets === undefined || (typeof targets === 'object' && targets !== null && Object.keys(targets).length === 0)) {
      throw new OptionsError('no targets to forward to: add a "targets" section to bilhetagem.config.json (see docs/guides/forwarding.md)', { option: 'targets' });
    }
    const running = await startWorker(ctx, o, targets as TargetsConfig);
    await running.closed;
  });
}

/**
 * A forwarder configured the way the CLI does it: targets from the config section (env expanded from
 * `ctx.env`), tuning from the resolved options. `serve` can call this to run the forwarder in its process.
 */
export function forwarderFromConfig(
  ctx: CliContext,
  store: Pick<OutboxStore, 'claim' | 'ack' | 'retryLater' | 'deadLetter' | 'stats'>,
  targets: TargetsConfig,
  o: Pick<WorkerOptions, 'leaseMs' | 'pollIntervalMs' | 'claimSize'>,
  logger?: Logger,
): Forwarder {
  return createForwarder({
    store,
    targets,
    env: ctx.env,
    leaseMs: o.leaseMs,
    pollIntervalMs: o.pollIntervalMs,
    batchSize: o.claimSize,
    ...(logger ? { logger } : {}),
  });
}

/**
 * The forwarder's own connection to the database, with synchronous=NORMAL. Its writes — claims, receipts,
 * retry times, dead letters — need not be on disk when they return: a power cut can lose the last ones,
 * and then those rows are sent again, which the idempotency key makes harmless (a receipt is only ever
 * written after the target confirmed). Ingest keeps FULL on its own connection: there "accepted" must mean
 * on disk. It spares the disk an fsync per commit.
 */
export function openForwarderStore(filename: string): SqliteStore {
  return createSqliteStore({ filename, synchronous: 'NORMAL' });
}

export interface RunningWorker {
  forwarder: Forwarder;
  store: SqliteStore | PostgresStore;
  /** The /metrics port, when --metrics-port was given. */
  metricsPort: number | undefined;
  /** Drains and closes; idempotent. */
  stop(reason: string): Promise<void>;
  closed: Promise<void>;
}

/** Opens the database, starts the forwarder (and the metrics endpoint), installs the signal handlers. */
export async function startWorker(ctx: CliContext, o: WorkerOptions, targets: TargetsConfig): Promise<RunningWorker> {
  const spec = storeSpec(ctx, o);
  if (spec.kind === 'sqlite' && !existsSync(spec.filename)) throw new StoreOpenError(spec.filename, new Error('no such file (start the server once, or pass --db)'));
  const logger = createLogger({ level: o.logLevel, destination: ctx.stdout });
  const store = spec.kind === 'sqlite' ? openForwarderStore(spec.filename) : await openStore(spec, 'NORMAL');
  let queue: AmqpQueue | undefined;
  let forwarder: Forwarder;
  let metrics: Server | undefined;
  let metricsPort: number | undefined;
  try {
    if (o.queue) {
      // Fed by the queue the servers' relays publish to, instead of claiming from the outbox.
      queue = await createAmqpQueue({ url: o.queue, logger });
      forwarder = createQueueWorker({ store, queue, targets, env: ctx.env, prefetch: o.prefetch, logger });
    } else forwarder = forwarderFromConfig(ctx, store, targets, o, logger);
    if (o.metricsPort !== undefined) {
      metrics = metricsServer(forwarder);
      await new Promise<void>((ok, fail) => {
        metrics!.once('error', fail);
        metrics!.listen(o.metricsPort, () => ok());
      });
      const address = metrics.address();
      metricsPort = typeof address === 'object' && address ? address.port : o.metricsPort;
    }
    await forwarder.start();
  } catch (error) {
    metrics?.close();
    await queue?.close();
    await store.close();
    throw error;
  }
  logger.info({ event: 'worker:started', db: describeStore(spec), ...(queue ? { queue: queue.options.broker } : {}), worker: forwarder.options.worker, targets: Object.keys(forwarder.targets), metricsPort }, 'forwarding');

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let stopping: Promise<void> | undefined;
  const stop = (reason: string): Promise<void> =>
    (stopping ??= (async () => {
      logger.info({ event: 'worker:draining', reason }, `${reason}: no new claims; finishing the sends in flight`);
      try {
        await forwarder.stop();
      } finally {
        metrics?.close();
        await queue?.close();
        await store.close();
        for (const [signal, handler] of handlers) process.off(signal, handler);
        logger.info({ event: 'worker:stopped', reason, targets: forwarder.stats().targets }, 'stopped');
        resolveClosed();
      }
    })());

  const onTerm = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal while draining: leave now. Unsettled rows come back when their lease expires.
      ctx.stderr.write(`bilhetagem: ${signal} again, exiting without waiting for the sends in flight\n`);
      process.exit(130);
    }
    void stop(signal);
  };
  const handlers: [NodeJS.Signals, (signal: NodeJS.Signals) => void][] = [
    ['SIGTERM', onTerm],
    ['SIGINT', onTerm],
  ];
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return { forwarder, store, metricsPort, stop, closed };
}

/** GET /metrics (the forwarder's, queue gauges refreshed from the store first) and GET /healthz. */
function metricsServer(forwarder: Forwarder): Server {
  return createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      forwarder
        .refreshQueueMetrics()
        .catch(() => undefined)
        .then(() => {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(forwarder.metrics.render());
        });
      return;
    }
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', forwarder: forwarder.stats() }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
  });
}
