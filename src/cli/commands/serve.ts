/**
 * `bilhetagem serve` (alias `start`): the ingest server on an embedded SQLite database — or, one of many,
 * on PostgreSQL (`--store postgres://...`) handing accepted records to RabbitMQ (`--queue`; see
 * docs/guides/scaling-out.md). The only part of the server that listens, handles signals and prints:
 * SIGTERM/SIGINT drain (stop taking requests, answer the ones in flight, commit, close), SIGHUP reloads
 * the ruleset. On the first start with an empty database it creates an admin account and a demo API key
 * and prints them once, on stderr, never through the logger.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { SqliteStore } from '../../adapters/sqlite/index.ts';
import type { PostgresStore } from '../../adapters/postgres/index.ts';
import { OptionsError } from '../../errors.ts';
import { createAmqpQueue } from '../../queue/amqp/index.ts';
import type { AmqpQueue } from '../../queue/amqp/index.ts';
import { createRelay } from '../../queue/relay.ts';
import type { Relay } from '../../queue/relay.ts';
import { buildServer } from '../../server/build-server.ts';
import { bootstrap } from '../../server/bootstrap.ts';
import type { BootstrapResult } from '../../server/bootstrap.ts';
import { createLogger } from '../../server/logger.ts';
import type { ForwarderHandle } from '../../server/options.ts';
import { addOptions, configSection, resolveOptions } from '../config.ts';
import { describeStore, openStore, storeHome, storeSpec } from '../store.ts';
import { adminRoutes, mappingTargets, outputsForTargets, resolveTargets } from '../../forwarder/index.ts';
import type { Forwarder, TargetsConfig } from '../../forwarder/index.ts';
import { authenticateAdmin } from '../../server/authenticate.ts';
import { createRetention } from '../../ops/retention.ts';
import { defaultArchiveDir } from '../../ops/prune.ts';
import { forwarderFromConfig, openForwarderStore } from './worker.ts';
import { addRetentionOptions, preflight, retentionOptions } from './config-check.ts';
import { startGrpcServer, type GrpcServerHandle } from '../../grpc/index.ts';
import type { Resolved } from '../config.ts';
import type { CliContext } from '../context.ts';

const OPTIONS = ['db', 'port', 'host', 'rules', 'mappings', 'logLevel', 'watch', 'bodyLimit', 'maxBatch', 'rateLimit', 'rateBurst', 'synchronous', 'trustProxy', 'grpc', 'leaseMs', 'pollIntervalMs', 'claimSize'] as const;
/** Beside --db: a PostgreSQL store and a RabbitMQ queue for running many servers (optional in ServeOptions, so `start` needs none). */
const SCALE_OPTIONS = ['store', 'queue', 'handoverMs'] as const;
export type ServeOptions = Resolved<(typeof OPTIONS)[number]> & Partial<Resolved<(typeof SCALE_OPTIONS)[number]>>;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('serve')
    .description('run the ingest server: HTTP API, SQLite database, ruleset hot reload, and the forwarder for the configured targets');
  addOptions(cmd, [...OPTIONS, ...SCALE_OPTIONS]);
  addRetentionOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Logs are JSON lines on stdout; the first start's admin password and demo API key are printed once on stderr.
SIGTERM or SIGINT drains and exits; SIGHUP reloads the ruleset. docs/guides/running-the-server.md has more.

Example:
  $ bilhetagem serve
  $ bilhetagem serve --port 9000 --db /var/lib/bilhetagem/bilhetagem.db --log-level warn
  $ bilhetagem serve --store postgres://bilhetagem@db:5432/billing --queue amqp://bilhetagem@mq:5672   (one of many; see docs/guides/scaling-out.md)`,
  );
  cmd.action(async () => {
    const o = resolveOptions(cmd, [...OPTIONS, ...SCALE_OPTIONS], ctx.env, ctx.cwd);
    const extra = retentionOptions(cmd);
    // The same checks as `bilhetagem config check`: refuse to start on an error, naming the field.
    await preflight(ctx, { ...o, ...extra, config: cmd.opts().config as string | undefined });
    const targets = configSection(cmd, 'targets', ctx.cwd) as TargetsConfig | undefined;
    const running = await startServer(ctx, o, { targets, ...extra });
    await running.closed;
  });
}

export interface ServeExtras {
  /** The config file's `targets`: when present, the forwarder runs in this process and delivers to them. */
  targets?: TargetsConfig | undefined;
  /** Archive and prune delivered records older than this (`90d`). */
  retention?: string | undefined;
  /** Where retention archives go (default: archive/ beside the database). */
  archive?: string | undefined;
}

export interface RunningServer {
  app: FastifyInstance;
  store: SqliteStore | PostgresStore;
  port: number;
  /** Drains and closes; idempotent. */
  stop(reason: string): Promise<void>;
  /** Settles when the server has closed (after a signal or stop()). */
  closed: Promise<void>;
}

/** Opens the database, bootstraps it, builds the server, listens and installs the signal handlers. */
export async function startServer(ctx: CliContext, o: ServeOptions, extras: ServeExtras | ForwarderHandle = {}): Promise<RunningServer> {
  // A handle given directly (tests, embedding) is used as it is; otherwise one is made from the targets.
  const given = 'start' in extras ? (extras as ForwarderHandle) : undefined;
  const { targets, retention: retentionAge, archive } = given ? ({} as ServeExtras) : (extras as ServeExtras);
  const hasTargets = targets !== undefined && Object.keys(targets).length > 0;
  const spec = storeSpec(ctx, o);
  // For PostgreSQL, --db still places the default retention archive folder.
  const filename = storeHome(ctx, spec, o);
  if (spec.kind === 'sqlite') mkdirSync(dirname(filename), { recursive: true });
  const logger = createLogger({ level: o.logLevel, destination: ctx.stdout }) as unknown as FastifyBaseLogger;
  // Start, drain and close are logged at info whatever --log-level says (unless silent): the listening
  // line, with the port, is what scripts and supervisors wait for.
  const lifecycle = o.logLevel === 'silent' ? logger : logger.child({}, { level: 'info' });
  const store = await openStore(spec, o.synchronous);
  let queue: AmqpQueue | undefined;
  let relay: Relay | undefined;
  let app: FastifyInstance | undefined;
  // The forwarder has its own connection to the same file (see openForwarderStore: synchronous=NORMAL).
  let fwdStore: ReturnType<typeof openForwarderStore> | undefined;
  let fwd: Forwarder | undefined;
  let grpc: GrpcServerHandle | undefined;
  try {
    const first = await bootstrap(store);
    if (first) printCredentials(ctx, first, spec.kind === 'postgres' ? ' --store <the same --store URL>' : ` --db ${o.db}`);
    if (o.queue) {
      // Many servers: each hands its outbox to RabbitMQ; `worker --queue` processes deliver (no forwarder here).
      const handoverMs = o.handoverMs ?? 300_000;
      for (const t of Object.values(hasTargets ? resolveTargets(targets, { env: ctx.env }) : {})) {
        if (handoverMs <= 2 * t.adapter.timeoutMs) throw new OptionsError(`--handover-ms (${handoverMs}) must be more than twice the timeoutMs of target "${t.name}" (${t.adapter.timeoutMs})`, { option: 'handoverMs' });
      }
      queue = await createAmqpQueue({ url: o.queue, logger: logger as never });
      relay = createRelay({ store, queue, targets: relayTargets(targets, resolve(ctx.cwd, o.mappings)), leaseMs: handoverMs, logger: logger as never });
    } else if (hasTargets) {
      if (spec.kind === 'sqlite') fwdStore = openForwarderStore(filename);
      fwd = forwarderFromConfig(ctx, fwdStore ?? store, targets, o, logger as never);
    }
    const retention = retentionAge
      ? createRetention({ store, olderThan: retentionAge, logger: logger as never, archiveDir: archive ? resolve(ctx.cwd, archive) : defaultArchiveDir(filename) })
      : undefined;
    const forwarder: ForwarderHandle | undefined =
      given ??
      (fwd || relay || retention
        ? {
            start: async () => {
              await fwd?.start();
              await relay?.start();
              retention?.start();
            },
            stop: async () => {
              await retention?.stop();
              await relay?.stop();
              await fwd?.stop();
            },
            ...(fwd ? { stats: () => fwd!.stats(), metrics: () => fwd!.metrics.render({ queue: false }) } : {}),
            ...(relay ? { stats: () => relay!.stats() } : {}),
          }
        : undefined);
    app = await buildServer({
      store,
      rules: resolve(ctx.cwd, o.rules),
      mappings: resolve(ctx.cwd, o.mappings),
      watch: o.watch,
      logger,
      bodyLimit: o.bodyLimit,
      maxBatch: o.maxBatch,
      rateLimit: o.rateLimit > 0 ? { requestsPerSecond: o.rateLimit, ...(o.rateBurst ? { burst: o.rateBurst } : {}) } : false,
      trustProxy: o.trustProxy,
      ...(forwarder ? { forwarder } : {}),
      ...(hasTargets
        ? {
            // Outbox rows by configured target name, and only the mappings those targets use.
            outbox: (outputs: Record<string, unknown>) => outputsForTargets(outputs, targets),
            pipeline: { targets: mappingTargets(targets) },
          }
        : {}),
      extend: (server: FastifyInstance) =>
        server.register(adminRoutes, { store, authorize: async (request) => (await authenticateAdmin(store, request.headers)).name }),
    });
    await app.listen({ port: o.port, host: o.host });
    if (o.grpc !== undefined) {
      const server = app;
      grpc = await startGrpcServer({
        port: o.grpc,
        host: o.host,
        store,
        pipeline: () => server.bilhetagem.ruleset?.pipeline,
        logger: logger as never,
        maxMessageBytes: o.bodyLimit,
        maxBatch: o.maxBatch,
        rateLimit: o.rateLimit > 0 ? { requestsPerSecond: o.rateLimit, ...(o.rateBurst ? { burst: o.rateBurst } : {}) } : false,
        metrics: server.bilhetagem.metrics,
        ...(hasTargets ? { outbox: (outputs: Record<string, unknown>) => outputsForTargets(outputs, targets) } : {}),
      });
    }
  } catch (error) {
    await app?.close().catch(() => undefined);
    await store.close();
    await fwdStore?.close();
    await queue?.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  lifecycle.info(
    { event: 'server:listening', port, host: o.host, db: describeStore(spec), synchronous: o.synchronous, ...(queue ? { queue: queue.options.broker } : {}), ruleset: app.bilhetagem.ruleset?.version, ...(grpc ? { grpcPort: grpc.port } : {}), ...(hasTargets ? { targets: Object.keys(targets) } : {}) },
    `listening on http://${o.host}:${port}${grpc ? ` and gRPC ${o.host}:${grpc.port}` : ''}`,
  );

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let stopping: Promise<void> | undefined;

  const stop = (reason: string): Promise<void> =>
    (stopping ??= (async () => {
      lifecycle.info({ event: 'server:draining', reason }, `${reason}: no new requests; finishing the ones in flight`);
      try {
        await Promise.all([app.close(), grpc?.stop()]);
      } finally {
        // Commits whatever the group commit still holds, then closes the file.
        await store.close();
        await fwdStore?.close();
        await queue?.close();
        for (const [signal, handler] of handlers) process.off(signal, handler);
        lifecycle.info({ event: 'server:closed', reason }, 'closed');
        resolveClosed();
      }
    })());

  const onTerm = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal while draining: the operator wants out now. Committed records are safe on disk.
      ctx.stderr.write(`bilhetagem: ${signal} again, exiting without waiting for in-flight requests\n`);
      process.exit(130);
    }
    void stop(signal);
  };
  const onHup = () => {
    app.bilhetagem.reloadRuleset('signal').catch(() => undefined); // the holder logs a failure and keeps the old ruleset
  };
  const handlers: [NodeJS.Signals, (signal: NodeJS.Signals) => void][] = [
    ['SIGTERM', onTerm],
    ['SIGINT', onTerm],
    ['SIGHUP', onHup],
  ];
  for (const [signal, handler] of handlers) process.on(signal, handler);

  return { app, store, port, stop, closed };
}

/** `where`: the option that names this store, for the `keys create` hint. */
function printCredentials(ctx: CliContext, first: BootstrapResult, where: string): void {
  const lines = [
    'First start: created an admin account and a demo API key. They are shown this once and stored only as hashes.',
    `  admin account:  ${first.admin.username} / ${first.admin.password}`,
    `  demo API key:   ${first.demoKey.key}`,
    `                  (sources: ${first.demoKey.sources.join(', ')})`,
    `Make more keys with: bilhetagem keys create --source <product> --name <name>${where}`,
  ];
  ctx.stderr.write(`\n${lines.join('\n')}\n\n`);
}

/** The relay's targets: the configured ones, or (with none configured) every mapping folder, which is then what names the outbox rows. */
function relayTargets(targets: TargetsConfig | undefined, mappings: string): string[] {
  if (targets && Object.keys(targets).length > 0) return Object.keys(targets);
  return readdirSync(mappings, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(d.name))
    .map((d) => d.name);
}
