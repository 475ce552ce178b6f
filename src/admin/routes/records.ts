/**
 * GET /admin/api/records (search), GET /admin/api/records/:source/:id (one record's whole story) and
 * GET /admin/api/records/:source/:id/explain (the decision traced again with the ruleset version that made it).
 */
import type { FastifyInstance } from 'fastify';
import type { RecordSearch, SearchVerdict } from '../../ports/store.ts';
import type { AdminContext } from '../context.ts';
import { badInput, notFound, unsupported } from '../errors.ts';
import { cursor, given, limit, text, timeRange } from './query.ts';

interface SearchQuery {
  source?: string;
  id?: string;
  subject?: string;
  verdict?: SearchVerdict;
  code?: string;
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
}

const keyParams = {
  type: 'object',
  required: ['source', 'id'],
  properties: { source: { type: 'string', minLength: 1, maxLength: 500 }, id: { type: 'string', minLength: 1, maxLength: 500 } },
} as const;

export function recordRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store } = ctx.o;

  app.get<{ Querystring: SearchQuery }>(
    '/api/records',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { source: text, id: text, subject: text, verdict: { type: 'string', enum: ['', 'accepted', 'skipped', 'rejected'] }, code: text, from: text, to: text, limit, cursor },
        },
      },
      config: { adminPermission: 'read' },
    },
    async (request) => {
      if (typeof store.searchRecords !== 'function') throw unsupported('this store cannot search records (it has no searchRecords method)');
      const q = request.query;
      const filter: RecordSearch = {
        ...given(q, ['source', 'id', 'subject', 'code', 'cursor'] as const),
        ...(q.verdict ? { verdict: q.verdict } : {}),
        ...timeRange(q.from, q.to),
        limit: q.limit,
      };
      return store.searchRecords(filter);
    },
  );

  app.get<{ Params: { source: string; id: string } }>('/api/records/:source/:id', { schema: { params: keyParams }, config: { adminPermission: 'read' } }, async (request) => {
    const { source, id } = request.params;
    const [record, rejections] = await Promise.all([store.getRecord(source, id), store.listRejections({ source, id, limit: 20 })]);
    if (!record && rejections.items.length === 0) throw notFound(`no record ${JSON.stringify(id)} of ${JSON.stringify(source)} was received`, { source, id });
    const active = ctx.o.rulesets.current;
    return {
      source,
      id,
      record: record ?? null,
      rejections: rejections.items,
      runningVersion: active?.version ?? null,
    };
  });

  app.get<{ Params: { source: string; id: string }; Querystring: { rejection?: string } }>(
    '/api/records/:source/:id/explain',
    {
      schema: { params: keyParams, querystring: { type: 'object', additionalProperties: false, properties: { rejection: { type: 'string', pattern: '^[0-9]{1,15}$' } } } },
      config: { adminPermission: 'read' },
    },
    async (request) => {
      const { source, id } = request.params;
      let payload: unknown;
      let version: string;
      let receivedAt: Date;
      if (request.query.rejection === undefined) {
        const record = await store.getRecord(source, id);
        if (!record) throw notFound(`no stored record ${JSON.stringify(id)} of ${JSON.stringify(source)}`, { source, id });
        ({ payload, rulesetVersion: version, receivedAt } = record);
      } else {
        const { items } = await store.listRejections({ source, id, limit: 100 });
        const rejection = items.find((r) => r.seq === request.query.rejection);
        if (!rejection) throw notFound(`no rejection ${request.query.rejection} of ${JSON.stringify(id)}`, { source, id });
        if (rejection.payload === null) throw badInput('this rejection was logged without its payload (keepRejectedPayloads: false), so it cannot be explained again');
        ({ payload, rulesetVersion: version, receivedAt } = rejection);
      }
      const pipeline = await ctx.rulesets.pipelineFor(version);
      // "Now" is when the record arrived, so time rules decide as they did then.
      return { version, now: receivedAt, explanation: await pipeline.explain(payload, { now: receivedAt }) };
    },
  );
}
