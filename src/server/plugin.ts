/**
 * The server as a Fastify plugin: content-type parsers, authentication, rate limits, the error
 * vocabulary, OpenAPI and every route. It is encapsulated: registering it inside another Fastify app
 * changes nothing outside it. buildServer (build-server.ts) is the usual way in.
 */
import type { FastifyContextConfig, FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { authenticateAdmin, authenticateKey, presentedKey } from './authenticate.ts';
import type { Principal } from './authenticate.ts';
import { parseJsonBody, parseRecordsBody, RECORD_MEDIA_TYPES } from './body/parse-records.ts';
import { notReady, rateLimited } from './errors.ts';
import { sendError, toServerError } from './error-handler.ts';
import { errorSchema, openapiInfo } from './schemas.ts';
import type { ServerState } from './state.ts';
import { adminRoutes } from './routes/admin.ts';
import { adminPanel } from '../admin/plugin.ts';
import { operationRoutes } from './routes/operations.ts';
import { recordRoutes } from './routes/records.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    bilhetagemCounted: boolean;
    /** The route's config, read once in onRequest (request.routeOptions builds a new object on every read). */
    bilhetagemConfig: FastifyContextConfig | null;
  }
  interface FastifyContextConfig {
    /** key: an API key; admin: an @admin key or an admin account. */
    auth?: 'key' | 'admin';
    /** The route takes records in its body. */
    records?: boolean;
  }
}

export interface BilhetagemPluginOptions {
  state: ServerState;
}

export const bilhetagemServer: FastifyPluginAsync<BilhetagemPluginOptions> = async (app, { state }) => {
  const o = state.options;
  const { store } = o;
  const limits = { maxDepth: o.maxDepth, maxBatch: o.maxBatch };

  app.decorateRequest('principal', null);
  app.decorateRequest('bilhetagemCounted', false);
  app.decorateRequest('bilhetagemConfig', null);
  const configOf = (request: FastifyRequest): FastifyContextConfig => (request.bilhetagemConfig ??= request.routeOptions.config);
  app.addSchema(errorSchema);
  // Response schemas document the answers; JSON.stringify writes them, so nothing is ever dropped from one.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // Only our parsers: one code path for every way records come in, with our own error codes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(RECORD_MEDIA_TYPES as string[], { parseAs: 'buffer', bodyLimit: o.bodyLimit }, (request, body, done) => {
    try {
      const contentType = request.headers['content-type'] ?? '';
      // Routes that take no records (admin) get plain JSON, with the same checks.
      if (!configOf(request).records) return done(null, parseJsonBody(body as Buffer, contentType, o.maxDepth));
      done(null, parseRecordsBody(body as Buffer, contentType, limits));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  app.setErrorHandler((error, request, reply) => sendError(toServerError(error as Error, request, o.bodyLimit, RECORD_MEDIA_TYPES), request, reply));

  // Hooks in callback style: they run on every request, and a promise per hook is measurable there.
  app.addHook('onRequest', (request, reply, next) => {
    reply.header('x-request-id', request.id);
    state.inFlight += 1;
    request.bilhetagemCounted = true;
    if (state.closing) {
      reply.header('connection', 'close');
      return next(notReady('the server is shutting down; retry against another instance or after it restarts', 5));
    }
    const auth = configOf(request).auth;
    if (!auth) return next();
    (auth === 'admin' ? authenticateAdmin(store, request.headers) : authenticateKey(store, presentedKey(request.headers))).then((principal) => {
      request.principal = principal;
      const wait = state.limiter ? state.limiter.take(`${principal.kind}:${principal.id}`) : 0;
      next(wait > 0 ? rateLimited(wait, state.limiter!.limit) : undefined);
    }, next);
  });

  // An answer sent while closing ends its keep-alive connection, so the drain does not wait for idle timeouts.
  app.addHook('onSend', (_request, reply, payload, next) => {
    if (state.closing) reply.header('connection', 'close');
    next(null, payload);
  });

  const done = (request: { bilhetagemCounted: boolean }) => {
    if (!request.bilhetagemCounted) return;
    request.bilhetagemCounted = false;
    state.inFlight -= 1;
  };
  app.addHook('onRequestAbort', (request, next) => {
    done(request);
    next();
  });
  app.addHook('onResponse', (request, reply, next) => {
    done(request);
    const route = (configOf(request) as { url?: string } | undefined)?.url ?? 'unknown';
    state.metrics.request(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    // Probes and scrapes come every few seconds; their lines are debug, the rest info.
    const level = PROBES.has(route) && reply.statusCode < 400 ? 'debug' : 'info';
    if (enabled(request.log, level)) {
      const p = request.principal;
      request.log[level](
        { method: request.method, url: request.url.split('?')[0], statusCode: reply.statusCode, responseTime: reply.elapsedTime, ...(p ? { caller: p.prefix ?? p.name } : {}) },
        'request completed',
      );
    }
    next();
  });

  if (o.docs) await registerDocs(app);

  recordRoutes(app, state);
  operationRoutes(app, state);
  adminRoutes(app, state);
  // More routes (the forwarder's dead letters and replays, later the admin panel) mount here, inside
  // this context: they get the same parsers, request ids, error vocabulary and admin authentication.
  if (o.admin) {
    await app.register(adminPanel, {
      ...o.admin,
      store,
      rulesets: state.holder,
      ...(o.forwarder ? { forwarder: o.forwarder as never } : {}),
      logger: state.logger,
      clock: o.clock,
      pipeline: o.pipeline,
    });
  }
  if (o.extend) await o.extend(app, { authorizeAdmin: (request) => authenticateAdmin(store, request.headers) });
};

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/** pino loggers answer this cheaply; a logger without it is assumed to want the line. */
function enabled(log: unknown, level: string): boolean {
  return (log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.(level) ?? true;
}

async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    ...(openapiInfo as unknown as Record<string, unknown>),
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
