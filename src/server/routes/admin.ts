/**
 * Admin routes (for now: the ruleset). Authorised by an API key with the @admin scope or an admin
 * account over HTTP Basic auth; the admin panel with logins and roles is its own piece of work.
 */
import type { FastifyInstance } from 'fastify';
import { ServerError, ServerErrorCodes as E } from '../errors.ts';
import { describe } from '../ruleset-holder.ts';
import { reloadRoute, rulesetRoute } from '../schemas.ts';
import type { ServerState } from '../state.ts';

export function adminRoutes(app: FastifyInstance, state: ServerState): void {
  const view = () => {
    const active = state.holder.current;
    return {
      version: active?.version,
      name: active?.name,
      loadedAt: active?.loadedAt.toISOString(),
      lastReloadError: state.holder.lastFailure ?? null,
    };
  };

  app.get('/admin/ruleset', { schema: rulesetRoute, config: { auth: 'admin' } }, async () => view());

  app.post('/admin/ruleset/reload', { schema: reloadRoute, config: { auth: 'admin' } }, async (request) => {
    const actor = request.principal!;
    try {
      const outcome = await state.holder.reload(`api:${actor.name}`);
      if (outcome.changed) {
        await state.options.store.appendAudit({
          actor: actor.name,
          action: 'ruleset.reload',
          target: outcome.version,
          before: outcome.previous ?? null,
          after: outcome.version,
          at: new Date(state.options.clock()),
        });
      }
      return { ...view(), changed: outcome.changed, previous: outcome.previous ?? null };
    } catch (error) {
      const cause = describe(error);
      throw new ServerError(E.RULESET_RELOAD, 422, `the new ruleset was refused and ${state.holder.current?.version ?? 'nothing'} keeps running: ${cause.message}`, {
        cause: error,
        details: { running: state.holder.current?.version ?? null, error: cause },
      });
    }
  });
}
