/**
 * Dead letters and replays for the panel, on the forwarder's own operations (src/forwarder/dead-letters.ts,
 * the ones `bilhetagem dlq` and `replay` use): list, show, retry or discard by id, replay a time range.
 * Each dead letter retried or discarded is one audit entry with its status before and after.
 */
import type { FastifyInstance } from 'fastify';
import { replayDelivered, resolveDeadLetters, showDeadLetter } from '../../forwarder/dead-letters.ts';
import type { DeadLetterStatus } from '../../ports/store.ts';
import type { AdminContext } from '../context.ts';
import { user } from '../context.ts';
import { cursor, given, limit, text, timeRange } from './query.ts';

interface ListQuery {
  status: DeadLetterStatus;
  target?: string;
  code?: string;
  reason?: string;
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
}

export function deadLetterRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store } = ctx.o;

  app.get<{ Querystring: ListQuery }>(
    '/api/dead-letters',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status: { type: 'string', enum: ['dead', 'retried', 'discarded'], default: 'dead' }, target: text, code: text, reason: text, from: text, to: text, limit, cursor },
        },
      },
      config: { adminPermission: 'read' },
    },
    async (request) => {
      const q = request.query;
      return store.listDeadLetters({ status: q.status, ...given(q, ['target', 'code', 'reason', 'cursor'] as const), ...timeRange(q.from, q.to), limit: q.limit });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/dead-letters/:id',
    { schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[0-9]{1,15}$' } } } }, config: { adminPermission: 'read' } },
    async (request) => showDeadLetter(store, request.params.id),
  );

  for (const action of ['retry', 'discard'] as const) {
    app.post<{ Body: { ids: string[] } }>(
      `/api/dead-letters/${action}`,
      {
        schema: {
          body: {
            type: 'object',
            required: ['ids'],
            additionalProperties: false,
            properties: { ids: { type: 'array', minItems: 1, maxItems: 1000, uniqueItems: true, items: { type: 'string', pattern: '^[0-9]{1,15}$' } } },
          },
        },
        config: { adminPermission: 'dead-letters:write' },
      },
      async (request) => {
        const by = user(request).username;
        const out = await resolveDeadLetters(store, action, { ids: request.body.ids }, { at: ctx.now(), by });
        for (const d of out.resolved) {
          await ctx.audit(request, `dead-letter.${action}`, d.id, {
            before: { status: 'dead' },
            after: { status: d.status, target: d.target, source: d.source, recordId: d.recordId },
          });
        }
        if (action === 'retry' && out.resolved.length > 0) ctx.o.forwarder?.wake?.();
        return out;
      },
    );
  }

  app.post<{ Body: { from: string; to: string; source?: string; target?: string } }>(
    '/api/replay',
    {
      schema: {
        body: { type: 'object', required: ['from', 'to'], additionalProperties: false, properties: { from: text, to: text, source: text, target: text } },
      },
      config: { adminPermission: 'replay' },
    },
    async (request) => {
      const b = request.body;
      const range = timeRange(b.from, b.to);
      const requeued = await replayDelivered(store, { from: range.from!, to: range.to!, ...given(b, ['source', 'target'] as const) }, ctx.now());
      await ctx.audit(request, 'replay', b.target, { after: { from: b.from, to: b.to, ...given(b, ['source', 'target'] as const), requeued } });
      if (requeued > 0) ctx.o.forwarder?.wake?.();
      return { requeued };
    },
  );
}
