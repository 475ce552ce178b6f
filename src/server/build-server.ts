/**
 * buildServer(options): a ready-to-use Fastify instance that never listens by itself, so it can be
 * embedded or driven with inject() in tests. Only `bilhetagem serve` listens and handles signals.
 */
import Fastify, { LogController } from 'fastify';
import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { bilhetagemServer } from './plugin.ts';
import { resolveServerOptions } from './options.ts';
import type { ServerOptions } from './options.ts';
import { ServerError, ServerErrorCodes as E } from './errors.ts';
import { sendError, toServerError } from './error-handler.ts';
import { RECORD_MEDIA_TYPES } from './body/parse-records.ts';
import { createServerState, type ServerState } from './state.ts';
import { watchRuleset } from './ruleset-watch.ts';
import type { RulesetWatcher } from './ruleset-watch.ts';
import type { ActiveRuleset, ReloadFailure, ReloadOutcome } from './ruleset-holder.ts';

export interface BilhetagemHandle {
  /** Loads the ruleset files again (as on SIGHUP); rejects with the ruleset error when they are bad, keeping the old one. */
  reloadRuleset(trigger?: string): Promise<ReloadOutcome>;
  readonly ruleset: ActiveRuleset | undefined;
  readonly lastReloadFailure: ReloadFailure | undefined;
  /** The request and record counters of /metrics, for other front doors of the same store (gRPC). */
  readonly metrics: ServerState['metrics'];
}

declare module 'fastify' {
  interface FastifyInstance {
    bilhetagem: BilhetagemHandle;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const o = resolveServerOptions(options);
  const state = await createServerState(o);
  const boot = randomBytes(4).toString('hex');
  let requests = 0;
  const app = Fastify({
    loggerInstance: state.logger,
    // One "request completed" line per request is written by our onResponse hook (with the caller, not the key).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    // A caller's own request id is kept when it is a plain token; otherwise one of ours.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : `${boot}-${(++requests).toString(36)}`;
    },
    bodyLimit: o.bodyLimit,
    trustProxy: o.trustProxy,
    // Our onRequest hook answers 503 with our JSON error while closing; Fastify's own would not.
    return503OnClosing: false,
    routerOptions: { maxParamLength: 1024 },
    // Errors the router meets before any route (a bad URL, a path parameter too long) speak our vocabulary too.
    frameworkErrors: (error, request, reply) => sendError(toServerError(error, request, o.bodyLimit, RECORD_MEDIA_TYPES), request, reply),
  });

  const handle: BilhetagemHandle = {
    reloadRuleset: (trigger = 'api') => state.holder.reload(trigger),
    get ruleset() {
      return state.holder.current;
    },
    get lastReloadFailure() {
      return state.holder.lastFailure;
    },
    metrics: state.metrics,
  };
  app.decorate('bilhetagem', handle);

  // Outside the plugin (unknown routes): any body is read and ignored, so the answer is a 404, not a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) => done(null, undefined));
  app.setErrorHandler((error, request, reply) => sendError(toServerError(error as Error, request, o.bodyLimit, RECORD_MEDIA_TYPES), request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(new ServerError(E.ROUTE_NOT_FOUND, 404, `there is no route ${request.method} ${request.url.split('?')[0]}; see /docs`), request, reply),
  );

  await app.register(bilhetagemServer, { state });

  let watcher: RulesetWatcher | undefined;
  app.addHook('onReady', async () => {
    if (o.watch) watcher = watchRuleset([o.rules, o.mappings], o.watchDebounceMs, () => state.holder.reload('watch'), state.logger);
    await o.forwarder?.start();
  });
  app.addHook('preClose', async () => {
    state.closing = true;
  });
  // onClose runs after the HTTP server has stopped and in-flight requests have been answered.
  app.addHook('onClose', async () => {
    watcher?.stop();
    await o.forwarder?.stop();
  });
  return app;
}
