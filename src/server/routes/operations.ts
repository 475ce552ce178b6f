/** GET /healthz, GET /readyz, GET /metrics: unauthenticated, and none of them shows a record or a secret. */
import type { FastifyInstance } from 'fastify';
import { esc } from '../metrics.ts';
import { ServerError, ServerErrorCodes as E } from '../errors.ts';
import { healthRoute, metricsRoute, readyRoute } from '../schemas.ts';
import type { ServerState } from '../state.ts';

export function operationRoutes(app: FastifyInstance, state: ServerState): void {
  const { store, forwarder, clock } = state.options;

  app.get('/healthz', { schema: healthRoute }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: readyRoute }, async (_request, reply) => {
    const active = state.holder.current;
    const database = !state.closing && (await store.ready());
    const lastReloadError = state.holder.lastFailure ?? null;
    if (state.closing || !database || !active) {
      const why = state.closing ? 'the server is shutting down' : !database ? 'the database does not take writes' : 'no ruleset is loaded';
      throw new ServerError(E.NOT_READY, 503, `not ready: ${why}`, {
        details: { database, ruleset: Boolean(active), closing: state.closing, lastReloadError },
        headers: { 'retry-after': '1' },
      });
    }
    reply.header('cache-control', 'no-store');
    return {
      status: 'ready',
      rulesetVersion: active.version,
      rulesetLoadedAt: active.loadedAt.toISOString(),
      lastReloadError,
      ...(forwarder?.stats ? { forwarder: forwarder.stats() } : {}),
    };
  });

  app.get('/metrics', { schema: metricsRoute }, async (_request, reply) => {
    const lines: string[] = [];
    const gauge = (name: string, help: string, samples: [string, number][], type = 'gauge') => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels ? `{${labels}}` : ''} ${value}`);
    };
    const active = state.holder.current;
    gauge('bilhetagem_ruleset_info', 'The running ruleset; its version is a label.', active ? [[`version="${esc(active.version)}",name="${esc(active.name)}"`, 1]] : []);
    gauge('bilhetagem_ruleset_reloads_total', 'Ruleset loads that swapped a new version in (ok) or were refused (failed).', [
      ['result="ok"', state.holder.reloads.ok],
      ['result="failed"', state.holder.reloads.failed],
    ], 'counter');
    gauge('bilhetagem_ruleset_reload_failing', '1 while the files on disk do not load and an older ruleset keeps running.', [['', state.holder.lastFailure ? 1 : 0]]);
    gauge('bilhetagem_http_requests_in_flight', 'Requests being handled now.', [['', state.inFlight]]);
    try {
      const stats = await store.stats({ now: new Date(clock()) });
      const targets = Object.entries(stats.targets);
      gauge('bilhetagem_outbox_pending', 'Deliveries waiting or in flight (the queue depth), per target.', targets.map(([t, s]) => [`target="${esc(t)}"`, s.pending]));
      gauge('bilhetagem_outbox_leased', 'Deliveries claimed by a forwarder right now, per target.', targets.map(([t, s]) => [`target="${esc(t)}"`, s.leased]));
      gauge('bilhetagem_outbox_oldest_pending_age_seconds', 'Age of the oldest pending delivery, per target.', targets.map(([t, s]) => [`target="${esc(t)}"`, (s.oldestPendingAgeMs ?? 0) / 1000]));
      gauge('bilhetagem_outbox_deliveries', 'Deliveries by status.', Object.entries(stats.deliveries).map(([s, n]) => [`status="${s}"`, n]));
      gauge('bilhetagem_dead_letters_open', 'Dead letters nobody has retried or discarded.', [['', stats.openDeadLetters]]);
      gauge('bilhetagem_stored_records', 'Records in the store, by verdict.', Object.entries(stats.records).map(([v, n]) => [`verdict="${v}"`, n]));
    } catch (error) {
      state.logger.warn({ event: 'metrics:store-unavailable', error: (error as Error).message }, 'store stats unavailable for /metrics');
    }
    const writeStats = (store as { writeStats?: () => { transactions: number; jobs: number; largestBatch: number } }).writeStats?.();
    if (writeStats) {
      gauge('bilhetagem_store_transactions_total', 'Write transactions committed (group commit: many calls per transaction).', [['', writeStats.transactions]], 'counter');
      gauge('bilhetagem_store_write_calls_total', 'Write calls committed.', [['', writeStats.jobs]], 'counter');
    }
    const mem = process.memoryUsage();
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', [['', mem.rss]]);
    gauge('nodejs_heap_used_bytes', 'V8 heap in use, bytes.', [['', mem.heapUsed]]);
    reply.type('text/plain; version=0.0.4; charset=utf-8');
    const extra = forwarder?.metrics?.();
    return extra ? `${state.metrics.render(lines).trimEnd()}\n${extra}` : state.metrics.render(lines);
  });
}
