/**
 * The rules page: the running version and its files, the history of activations, checking a candidate,
 * the playground, and activation (a stored version: roll back or forward; or candidate files) — always
 * linted, parsed and compiled before the server's holder swaps it in, and audited.
 */
import type { FastifyInstance } from 'fastify';
import type { AdminContext } from '../context.ts';
import { user } from '../context.ts';
import { badInput, notFound, unsupported } from '../errors.ts';
import { describeError, filesFrom } from '../rulesets.ts';
import type { Candidate } from '../rulesets.ts';
import { AdminError, AdminErrorCodes as E } from '../errors.ts';

const version = { type: 'string', minLength: 1, maxLength: 200 } as const;
const files = { type: 'object', additionalProperties: { type: 'string' } } as const;

export function ruleRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { o } = ctx;

  app.get('/api/rules', { config: { adminPermission: 'read' } }, async () => {
    const active = o.rulesets.current;
    const history = await o.store.listRulesetVersions();
    return {
      active: active
        ? { version: active.version, name: active.name, loadedAt: active.loadedAt, files: active.pipeline.ruleset.files.map((f) => ({ path: f.path, bytes: Buffer.byteLength(f.content) })) }
        : null,
      lastReloadFailure: o.rulesets.lastFailure ?? null,
      history: history.map((h) => ({ ...h, running: h.version === active?.version })),
      canActivate: typeof o.rulesets.swap === 'function',
      canReload: typeof o.rulesets.reload === 'function',
    };
  });

  app.get<{ Querystring: { version?: string } }>(
    '/api/rules/files',
    { schema: { querystring: { type: 'object', additionalProperties: false, properties: { version } } }, config: { adminPermission: 'read' } },
    async (request) => {
      const wanted = request.query.version ?? o.rulesets.current?.version;
      const found = wanted ? await ctx.rulesets.versionFiles(wanted) : undefined;
      if (!found) throw notFound(`no files of ruleset ${wanted ?? '(none running)'} are known`, { version: wanted });
      return found;
    },
  );

  app.post<{ Body: { files: Record<string, string> } }>(
    '/api/rules/check',
    { schema: { body: { type: 'object', required: ['files'], additionalProperties: false, properties: { files } } }, config: { adminPermission: 'read' } },
    async (request) => ctx.rulesets.check(filesFrom(request.body.files)),
  );

  app.post<{ Body: { record: unknown; version?: string; files?: Record<string, string>; now?: string } }>(
    '/api/rules/playground',
    {
      schema: { body: { type: 'object', required: ['record'], additionalProperties: false, properties: { record: {}, version, files, now: { type: 'string', maxLength: 100 } } } },
      config: { adminPermission: 'playground' },
    },
    async (request) => {
      const b = request.body;
      if (b.files && b.version) throw badInput('give either a version or candidate files, not both');
      let pipeline;
      let lint = null;
      if (b.files) {
        const candidate = ctx.rulesets.candidate(filesFrom(b.files));
        pipeline = candidate.pipeline;
        lint = candidate.lint;
      } else if (b.version) {
        pipeline = await ctx.rulesets.pipelineFor(b.version);
      } else {
        pipeline = o.rulesets.current?.pipeline;
        if (!pipeline) throw unsupported('no ruleset is running');
      }
      const now = b.now ? Date.parse(b.now) : o.clock();
      if (!Number.isFinite(now)) throw badInput('"now" must be an RFC 3339 time', { field: 'now' });
      try {
        return { version: pipeline.version, now: new Date(now), explanation: await pipeline.explain(b.record, { now }), lint };
      } catch (error) {
        throw new AdminError(E.RULESET, 422, `the ruleset failed on this record: ${describeError(error).message}`, { cause: error, details: { error: describeError(error) } });
      }
    },
  );

  app.post<{ Body: { version?: string; files?: Record<string, string> } }>(
    '/api/rules/activate',
    {
      schema: { body: { type: 'object', additionalProperties: false, properties: { version, files } } },
      config: { adminPermission: 'ruleset:activate' },
    },
    async (request) => {
      const b = request.body;
      if ((b.version === undefined) === (b.files === undefined)) throw badInput('give the version to activate, or the files of a candidate');
      const running = o.rulesets.current?.version;
      let candidate: Candidate;
      let from: 'history' | 'candidate';
      if (b.version !== undefined) {
        const stored = await ctx.rulesets.versionFiles(b.version);
        if (!stored || Object.keys(stored.files).length === 0) throw notFound(`the files of ruleset ${b.version} are not in the store`, { version: b.version });
        candidate = ctx.rulesets.candidate(filesFrom(stored.files));
        from = 'history';
      } else {
        candidate = ctx.rulesets.candidate(filesFrom(b.files));
        from = 'candidate';
      }
      const kind = await activationKind(ctx, candidate.ruleset.version, running);
      const outcome = await ctx.rulesets.activate(candidate, `panel:${user(request).username}`);
      if (outcome.changed) {
        await ctx.audit(request, `ruleset.${kind}`, outcome.version, { before: { version: outcome.previous ?? null }, after: { version: outcome.version, from, warnings: candidate.lint.warnings } });
      }
      return { ...outcome, previous: outcome.previous ?? null, action: kind, lint: candidate.lint };
    },
  );

  app.post('/api/rules/reload', { config: { adminPermission: 'ruleset:activate' } }, async (request) => {
    const reload = o.rulesets.reload;
    if (typeof reload !== 'function') throw unsupported('this server does not read its ruleset from files');
    try {
      const outcome = await reload.call(o.rulesets, `panel:${user(request).username}`);
      if (outcome.changed) await ctx.audit(request, 'ruleset.reload', outcome.version, { before: { version: outcome.previous ?? null }, after: { version: outcome.version, from: 'files' } });
      return { ...outcome, previous: outcome.previous ?? null };
    } catch (error) {
      if (error instanceof AdminError) throw error;
      throw new AdminError(E.RULESET, 422, `the files on disk were refused and ${o.rulesets.current?.version ?? 'nothing'} keeps running: ${describeError(error).message}`, { cause: error, details: { error: describeError(error) } });
    }
  });
}

/** A version activated before the running one's latest activation is a rollback; anything else an activation. */
async function activationKind(ctx: AdminContext, next: string, running: string | undefined): Promise<'activate' | 'rollback'> {
  if (!running || next === running) return 'activate';
  const history = await ctx.o.store.listRulesetVersions();
  const nextAt = history.findIndex((h) => h.version === next);
  const runningAt = history.findIndex((h) => h.version === running);
  // Newest first: a larger index is an older activation.
  return nextAt >= 0 && (runningAt < 0 || nextAt > runningAt) ? 'rollback' : 'activate';
}
