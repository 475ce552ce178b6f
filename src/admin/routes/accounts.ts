/** Accounts (admin only) and the audit log (every role). The audit log has no route that changes it. */
import type { FastifyInstance } from 'fastify';
import { createAccount, removeAccount, resetPassword, setRole } from '../accounts.ts';
import type { AdminContext } from '../context.ts';
import { user } from '../context.ts';
import { ROLES } from '../roles.ts';
import { cursor, given, limit, text, timeRange } from './query.ts';

const usernameParams = { type: 'object', required: ['username'], properties: { username: { type: 'string', minLength: 1, maxLength: 64 } } } as const;

export function accountRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store } = ctx.o;
  const change = (request: Parameters<typeof user>[0]) => ({ actor: user(request).username, at: ctx.now() });
  /** Ends the account's sessions now, rather than at their next request. */
  const endSessions = (username: string) => ctx.sessions.endAll(username);

  app.get('/api/accounts', { config: { adminPermission: 'accounts:read' } }, async () => ({ items: await store.listAccounts(), roles: ROLES }));

  app.post<{ Body: { username: string; role: string; password?: string } }>(
    '/api/accounts',
    {
      schema: {
        body: {
          type: 'object',
          required: ['username', 'role'],
          additionalProperties: false,
          properties: { username: { type: 'string', maxLength: 64 }, role: { type: 'string', maxLength: 20 }, password: { type: 'string', maxLength: 1024 } },
        },
      },
      config: { adminPermission: 'accounts:write' },
    },
    async (request) => createAccount(store, request.body, change(request)),
  );

  app.post<{ Params: { username: string }; Body: { role: string } }>(
    '/api/accounts/:username/role',
    {
      schema: { params: usernameParams, body: { type: 'object', required: ['role'], additionalProperties: false, properties: { role: { type: 'string', maxLength: 20 } } } },
      config: { adminPermission: 'accounts:write' },
    },
    async (request) => setRole(store, request.params.username, request.body.role, change(request)),
  );

  app.post<{ Params: { username: string } }>(
    '/api/accounts/:username/reset-password',
    { schema: { params: usernameParams }, config: { adminPermission: 'accounts:write' } },
    async (request) => {
      const out = await resetPassword(store, request.params.username, change(request));
      endSessions(out.account.username);
      return out;
    },
  );

  app.delete<{ Params: { username: string } }>(
    '/api/accounts/:username',
    { schema: { params: usernameParams }, config: { adminPermission: 'accounts:write' } },
    async (request) => {
      await removeAccount(store, request.params.username, change(request));
      endSessions(request.params.username);
      return { ok: true };
    },
  );

  app.get<{ Querystring: { actor?: string; action?: string; target?: string; from?: string; to?: string; limit: number; cursor?: string } }>(
    '/api/audit',
    {
      schema: { querystring: { type: 'object', additionalProperties: false, properties: { actor: text, action: text, target: text, from: text, to: text, limit, cursor } } },
      config: { adminPermission: 'read' },
    },
    async (request) => {
      const q = request.query;
      return store.listAudit({ ...given(q, ['actor', 'action', 'target', 'cursor'] as const), ...timeRange(q.from, q.to), limit: q.limit });
    },
  );
}
