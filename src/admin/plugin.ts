/**
 * The admin panel as a Fastify plugin: the page at /admin (plain HTML, JS and CSS, no framework) and its
 * JSON API under /admin/api/*, behind session logins with roles, CSRF protection and the audit log.
 *
 *   await app.register(adminPanel, { store, rulesets: holder, forwarder, logger, clock });
 *
 * It is encapsulated: its body parser, error handler and hooks apply to /admin only.
 */
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { BilhetagemError } from '../errors.ts';
import { loadAssets } from './assets.ts';
import { createAdminContext } from './context.ts';
import type { AdminContext } from './context.ts';
import { AdminError, AdminErrorCodes as E, notFound } from './errors.ts';
import { sessionGuard } from './guard.ts';
import { resolveAdminOptions } from './options.ts';
import type { AdminPanelOptions } from './options.ts';
import { accountRoutes } from './routes/accounts.ts';
import { deadLetterRoutes } from './routes/dead-letters.ts';
import { keyRoutes } from './routes/keys.ts';
import { overviewRoutes } from './routes/overview.ts';
import { recordRoutes } from './routes/records.ts';
import { ruleRoutes } from './routes/rules.ts';
import { sessionRoutes } from './routes/session.ts';

/** Scripts, styles and requests only from here; no frames, no inline code. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

export const adminPanel: FastifyPluginAsync<AdminPanelOptions> = async (app, options) => {
  const o = resolveAdminOptions(options);
  const ctx = createAdminContext(o);
  await app.register(async (admin) => panel(admin, ctx), { prefix: '/admin' });
};

async function panel(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  const { o } = ctx;
  const assets = loadAssets();
  if (!assets.has('index.html')) o.logger?.error({ event: 'admin:assets-missing' }, 'admin panel: the page files (src/admin/assets) were not found; the API works, the page does not');

  app.decorateRequest('adminUser', null);
  // The panel's API serves the page (sessions, CSRF); it stays out of the public OpenAPI document.
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, hide: true };
  });
  // Only JSON bodies; the server's own parsers (records) do not apply here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: o.bodyLimit }, app.getDefaultJsonParser('error', 'error'));

  app.setErrorHandler((error, request, reply) => send(toAdminError(error as FastifyError, request, o.bodyLimit), request, reply));
  app.setNotFoundHandler((request, reply) => send(notFound(`there is no admin route ${request.method} ${request.url.split('?')[0]}`), request, reply));

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
  });
  app.addHook('onRequest', sessionGuard(ctx));
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.url.startsWith('/admin/api/')) reply.header('cache-control', 'no-store');
    return payload;
  });
  app.addHook('onReady', async () => ctx.overview.start());
  app.addHook('onClose', async () => ctx.overview.stop());

  const page = (request: FastifyRequest, reply: FastifyReply, name: string) => {
    const asset = assets.get(name);
    if (!asset) {
      if (name === 'index.html') {
        return reply.code(500).type('text/plain; charset=utf-8').send('The admin panel files are missing from this build (src/admin/assets was not copied to dist/admin/assets).');
      }
      throw notFound(`there is no admin asset ${name}`);
    }
    reply.header('etag', asset.etag).header('cache-control', 'no-cache');
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.type(asset.type).send(asset.body);
  };
  app.get('/', (request, reply) => page(request, reply, 'index.html'));
  app.get<{ Params: { file: string } }>('/assets/:file', (request, reply) => {
    const file = request.params.file;
    if (file === 'index.html' || !/^[a-z0-9-]+\.[a-z]+$/.test(file)) throw notFound(`there is no admin asset ${file}`);
    return page(request, reply, file);
  });

  sessionRoutes(app, ctx);
  overviewRoutes(app, ctx);
  recordRoutes(app, ctx);
  deadLetterRoutes(app, ctx);
  ruleRoutes(app, ctx);
  keyRoutes(app, ctx);
  accountRoutes(app, ctx);
}

function toAdminError(error: FastifyError, request: FastifyRequest, bodyLimit: number): BilhetagemError {
  if (error instanceof BilhetagemError) {
    // A store refusing a filter (a cursor it did not give) is the caller's input here, not a bug.
    if (error.code === 'BLH_ERR_STORE_INPUT') return new AdminError(E.INPUT, 400, error.message, { details: error.details, cause: error });
    return error;
  }
  if (error.validation) {
    return new AdminError(E.INPUT, 400, `the request is not valid: ${error.message}`, {
      details: { problems: error.validation.map((v) => ({ in: error.validationContext, path: v.instancePath, message: v.message })) },
    });
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AdminError(E.INPUT, 413, `the body is too large: at most ${bodyLimit} bytes`, { details: { bodyLimit } });
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new AdminError(E.INPUT, 415, 'the admin API takes application/json bodies only');
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) return new AdminError(E.INPUT, error.statusCode, error.message, { cause: error });
  return new BilhetagemError('BLH_ERR_INTERNAL', `an internal error occurred; the server log has the details under request id ${request.id}`, { statusCode: 500, cause: error });
}

function send(error: BilhetagemError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = error.statusCode ?? 500;
  if (status >= 500 && status !== 501) request.log.error({ err: error.cause ?? error, code: error.code }, error.message);
  else request.log.info({ code: error.code, statusCode: status }, error.message);
  if (error instanceof AdminError) for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(error.toJSON()));
}
