/**
 * API keys (admin only): list, create — the whole key is answered once and only its hash is stored —
 * and revoke. A key's sources are the products it may send and read, `*` for every one, `@admin` for
 * the admin HTTP routes (src/auth/scopes.ts).
 */
import type { FastifyInstance } from 'fastify';
import { issueApiKey } from '../../auth/issue-key.ts';
import type { AdminContext } from '../context.ts';
import { notFound } from '../errors.ts';

const SOURCE = '^(\\*|@admin|[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199})$';

export function keyRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store } = ctx.o;

  app.get('/api/keys', { config: { adminPermission: 'keys:read' } }, async () => ({ items: await store.listApiKeys() }));

  app.post<{ Body: { name: string; sources: string[] } }>(
    '/api/keys',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'sources'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100 },
            sources: { type: 'array', minItems: 1, maxItems: 100, uniqueItems: true, items: { type: 'string', pattern: SOURCE } },
          },
        },
      },
      config: { adminPermission: 'keys:write' },
    },
    async (request) => {
      const { name, sources } = request.body;
      const { key, info } = await issueApiKey(store, { name, sources, at: ctx.now() });
      await ctx.audit(request, 'key.create', info.prefix, { after: { id: info.id, name, sources } });
      return { key, info };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/keys/:id/revoke',
    { schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 100 } } } }, config: { adminPermission: 'keys:write' } },
    async (request) => {
      const key = (await store.listApiKeys()).find((k) => k.id === request.params.id);
      if (!key) throw notFound(`there is no API key with id ${JSON.stringify(request.params.id)}`, { id: request.params.id });
      const revoked = await store.revokeApiKey(key.id, ctx.now());
      if (key.revokedAt === null) await ctx.audit(request, 'key.revoke', key.prefix, { before: { revokedAt: null }, after: { revokedAt: revoked.revokedAt } });
      return revoked;
    },
  );
}
