/** GET /admin/api/overview (the charts and numbers of the first page), GET /admin/api/alerts. */
import type { FastifyInstance } from 'fastify';
import type { AdminContext } from '../context.ts';
import { WINDOWS } from '../overview.ts';
import type { WindowName } from '../overview.ts';

export function overviewRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get<{ Querystring: { window: WindowName } }>(
    '/api/overview',
    {
      schema: { querystring: { type: 'object', additionalProperties: false, properties: { window: { type: 'string', enum: Object.keys(WINDOWS), default: '1h' } } } },
      config: { adminPermission: 'read' },
    },
    async (request) => ({ ...(await ctx.overview.read(request.query.window)), ruleset: rulesetOf(ctx) }),
  );

  app.get('/api/alerts', { config: { adminPermission: 'read' } }, async () => ({ alerts: await ctx.overview.alerts() }));
}

function rulesetOf(ctx: AdminContext) {
  const active = ctx.o.rulesets.current;
  return active ? { version: active.version, name: active.name, loadedAt: active.loadedAt } : null;
}
