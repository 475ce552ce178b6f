/**
 * Dead letters and replays over the admin HTTP API, as a Fastify plugin the server registers:
 *
 *   app.register(adminRoutes, { store, authorize: (request, action) => user.name });
 *
 *   GET  /admin/dead-letters                 list (target, code, reason, status, from, to, limit, cursor)
 *   GET  /admin/dead-letters/:id             one, with its row and attempt history
 *   POST /admin/dead-letters/:id/retry       back to the outbox (the dead letter stays, marked retried)
 *   POST /admin/dead-letters/:id/discard     give up (nothing is deleted)
 *   POST /admin/dead-letters/retry           every open one matching { ids } or a filter
 *   POST /admin/dead-letters/discard         the same, discarding
 *   POST /admin/replay                       { from, to, source?, target? }: delivered rows sent again
 *
 * `authorize(request, action)` runs first on every route: it throws (an error with statusCode 401/403) to
 * refuse, and answers the actor's name, kept on the dead letter and in the audit log.
 *
 * Errors answer Fastify's `{ statusCode, code, error, message }`: 400 BLH_ERR_TIME_RANGE or
 * BLH_ERR_DLQ_SELECTION, 404 BLH_ERR_STORE_NOT_FOUND, 409 BLH_ERR_STORE_STATE. Only the 200 answers have a
 * response schema: with one for an error status Fastify would serialise the error object itself.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AuditStore, DeadLetter, DeadLetterStatus, OutboxStore, RecordStore } from '../ports/store.ts';
import { parseTimeRange, replayDelivered, resolveDeadLetters, showDeadLetter } from './dead-letters.ts';
import type { DeadLetterSelection } from './dead-letters.ts';

export type AdminAction = 'dead-letters:read' | 'dead-letters:write' | 'replay';

export interface AdminRoutesOptions {
  store: Pick<OutboxStore, 'listDeadLetters' | 'retryDeadLetter' | 'discardDeadLetter' | 'requeueDelivered'> & Pick<RecordStore, 'getRecord'> & Partial<Pick<AuditStore, 'appendAudit'>>;
  /** Throws to refuse; answers who is acting (kept as `resolvedBy` and in the audit log). */
  authorize: (request: FastifyRequest, action: AdminAction) => string | undefined | Promise<string | undefined>;
  /** Epoch ms. Default `Date.now`. */
  clock?: () => number;
}

const nullable = (type: string) => ({ anyOf: [{ type }, { type: 'null' }] });

const deadLetterSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    outboxId: { type: 'string' },
    target: { type: 'string' },
    source: { type: 'string' },
    recordId: { type: 'string' },
    reason: { type: 'string' },
    code: nullable('string'),
    statusCode: nullable('integer'),
    answer: {},
    at: { type: 'string', format: 'date-time' },
    status: { type: 'string', enum: ['dead', 'retried', 'discarded'] },
    resolvedAt: nullable('string'),
    resolvedBy: nullable('string'),
  },
} as const;

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1 } } } as const;

const filterProperties = {
  target: { type: 'string', minLength: 1 },
  code: { type: 'string', minLength: 1 },
  reason: { type: 'string', minLength: 1 },
  from: { type: 'string', description: 'RFC 3339; dead-lettered at or after' },
  to: { type: 'string', description: 'RFC 3339; dead-lettered before' },
} as const;

const resolveOutcomeSchema = {
  type: 'object',
  properties: {
    resolved: { type: 'array', items: deadLetterSchema },
    failed: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } } } },
  },
} as const;

/** JSON-ready: dates as RFC 3339 strings. */
function view(d: DeadLetter) {
  return { ...d, at: d.at.toISOString(), resolvedAt: d.resolvedAt?.toISOString() ?? null };
}

interface ListQuery {
  target?: string;
  code?: string;
  reason?: string;
  status?: DeadLetterStatus;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

interface BulkBody {
  ids?: string[];
  target?: string;
  code?: string;
  reason?: string;
  from?: string;
  to?: string;
  all?: boolean;
}

interface ReplayBody {
  from: string;
  to: string;
  source?: string;
  target?: string;
}

export const adminRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (app: FastifyInstance, options: AdminRoutesOptions) => {
  const { store, authorize } = options;
  const clock = options.clock ?? Date.now;

  async function audit(actor: string | undefined, action: string, target: string | undefined, after: unknown): Promise<void> {
    if (typeof store.appendAudit !== 'function') return;
    await store.appendAudit({ actor: actor ?? 'unknown', action, ...(target === undefined ? {} : { target }), after, at: new Date(clock()) });
  }

  app.get<{ Querystring: ListQuery }>(
    '/admin/dead-letters',
    {
      schema: {
        summary: 'List dead letters, newest first',
        tags: ['dead letters'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...filterProperties,
            status: { type: 'string', enum: ['dead', 'retried', 'discarded'], default: 'dead' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            cursor: { type: 'string' },
          },
        },
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: deadLetterSchema }, nextCursor: nullable('string') } },
        },
      },
    },
    async (request) => {
      await authorize(request, 'dead-letters:read');
      const q = request.query;
      const range = parseTimeRange(q.from, q.to);
      const page = await store.listDeadLetters({
        ...(q.target ? { target: q.target } : {}),
        ...(q.code ? { code: q.code } : {}),
        ...(q.reason ? { reason: q.reason } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...range,
        ...(q.limit ? { limit: q.limit } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
      return { items: page.items.map(view), nextCursor: page.nextCursor };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/admin/dead-letters/:id',
    {
      schema: {
        summary: 'One dead letter, with its row and every attempt at its target',
        tags: ['dead letters'],
        params: idParams,
        response: {
          200: {
            type: 'object',
            properties: {
              deadLetter: deadLetterSchema,
              delivery: { anyOf: [{ type: 'object', additionalProperties: true }, { type: 'null' }] },
              attempts: { type: 'array', items: { type: 'object', additionalProperties: true } },
            },
          },
        },
      },
    },
    async (request) => {
      await authorize(request, 'dead-letters:read');
      const v = await showDeadLetter(store, request.params.id);
      return JSON.parse(JSON.stringify({ ...v, deadLetter: view(v.deadLetter) })) as unknown;
    },
  );

  for (const action of ['retry', 'discard'] as const) {
    app.post<{ Params: { id: string } }>(
      `/admin/dead-letters/:id/${action}`,
      {
        schema: {
          summary: action === 'retry' ? 'Put the row back in the outbox; the dead letter stays, marked retried' : 'Give up on the row; nothing is deleted',
          tags: ['dead letters'],
          params: idParams,
          response: { 200: deadLetterSchema },
        },
      },
      async (request) => {
        const actor = await authorize(request, 'dead-letters:write');
        const resolution = { at: new Date(clock()), ...(actor ? { by: actor } : {}) };
        const id = request.params.id;
        const d = action === 'retry' ? await store.retryDeadLetter(id, resolution) : await store.discardDeadLetter(id, resolution);
        await audit(actor, `dead-letter.${action}`, id, view(d));
        return view(d);
      },
    );

    app.post<{ Body: BulkBody }>(
      `/admin/dead-letters/${action}`,
      {
        schema: {
          summary: `${action === 'retry' ? 'Retry' : 'Discard'} open dead letters by id, or every one matching a filter`,
          tags: ['dead letters'],
          body: {
            type: 'object',
            additionalProperties: false,
            properties: { ids: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 10_000 }, ...filterProperties, all: { type: 'boolean' } },
          },
          response: { 200: resolveOutcomeSchema },
        },
      },
      async (request) => {
        const actor = await authorize(request, 'dead-letters:write');
        const b = request.body;
        const filter = {
          ...(b.target ? { target: b.target } : {}),
          ...(b.code ? { code: b.code } : {}),
          ...(b.reason ? { reason: b.reason } : {}),
          ...parseTimeRange(b.from, b.to),
        };
        const selection: DeadLetterSelection = b.ids !== undefined ? { ids: b.ids } : { filter, all: b.all === true };
        const out = await resolveDeadLetters(store, action, selection, { at: new Date(clock()), ...(actor ? { by: actor } : {}) });
        await audit(actor, `dead-letter.${action}`, undefined, { selection, resolved: out.resolved.length, failed: out.failed.length });
        return { resolved: out.resolved.map(view), failed: out.failed };
      },
    );
  }

  app.post<{ Body: ReplayBody }>(
    '/admin/replay',
    {
      schema: {
        summary: 'Send again the rows delivered in [from, to) (for a target that lost data); relies on the idempotency key',
        tags: ['replay'],
        body: {
          type: 'object',
          required: ['from', 'to'],
          additionalProperties: false,
          properties: { from: { type: 'string' }, to: { type: 'string' }, source: { type: 'string', minLength: 1 }, target: { type: 'string', minLength: 1 } },
        },
        response: { 200: { type: 'object', properties: { requeued: { type: 'integer' } } } },
      },
    },
    async (request) => {
      const actor = await authorize(request, 'replay');
      const requeued = await replayDelivered(store, request.body, new Date(clock()));
      await audit(actor, 'replay', request.body.target, { ...request.body, requeued });
      return { requeued };
    },
  );
};
