/** POST /v1/records, POST /v1/records/validate, GET /v1/records/{source}/{id}. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { maySource } from '../../auth/scopes.ts';
import type { StoredRecord } from '../../ports/store.ts';
import type { ParsedRecords } from '../body/parse-records.ts';
import { forbidden, notReady, ServerError, ServerErrorCodes as E } from '../errors.ts';
import { checkSources, judge, storeVerdicts, verdictResults } from '../ingest.ts';
import type { ItemResult, ItemStatus } from '../ingest.ts';
import { getRecordRoute, ingestRoute, validateRoute } from '../schemas.ts';
import type { ServerState } from '../state.ts';

/** The pipeline is what validates a record; the route's body schema only documents it. */
const documentationOnly = () => () => true;

export function recordRoutes(app: FastifyInstance, state: ServerState): void {
  const { store, keepRejectedPayloads, clock, outbox } = state.options;

  function begin(request: FastifyRequest) {
    const body = request.body as ParsedRecords | undefined;
    if (!body) throw new ServerError(E.EMPTY_BODY, 400, 'the body is empty; send a record, an array of records or NDJSON');
    const principal = request.principal!;
    checkSources(body.items, principal.scopes);
    const active = state.holder.current;
    if (!active) throw notReady('no ruleset is loaded yet');
    return { body, principal, active };
  }

  app.post('/v1/records', { schema: ingestRoute, validatorCompiler: documentationOnly, config: { auth: 'key', records: true } }, async (request, reply) => {
    const { body, principal, active } = begin(request);
    const receivedAtMs = clock();
    const receivedAt = new Date(receivedAtMs);
    const verdicts = await judge(body.items, active.pipeline, receivedAtMs);
    const results = await storeVerdicts({ store, keepRejectedPayloads, scopes: principal.scopes, outbox }, body.items, verdicts, receivedAt);
    for (const r of results) {
      state.metrics.record(r.status, r.errors?.[0]?.code ?? r.code ?? '');
      if (r.errors) for (const e of r.errors) state.metrics.reason(e.code);
    }
    return answer(reply, body, results, active.version, receivedAt.toISOString(), false);
  });

  app.post('/v1/records/validate', { schema: validateRoute, validatorCompiler: documentationOnly, config: { auth: 'key', records: true } }, async (request, reply) => {
    const { body, active } = begin(request);
    const receivedAtMs = clock();
    const verdicts = await judge(body.items, active.pipeline, receivedAtMs);
    return answer(reply, body, verdictResults(body.items, verdicts), active.version, new Date(receivedAtMs).toISOString(), true);
  });

  app.get('/v1/records/:source/:id', { schema: getRecordRoute, config: { auth: 'key' } }, async (request) => {
    const { source, id } = request.params as { source: string; id: string };
    if (!maySource(request.principal!.scopes, source)) throw forbidden(`this API key may not read records of ${JSON.stringify(source)}`, { source });
    const record = await store.getRecord(source, id);
    if (record) return storedView(record);
    const { items } = await store.listRejections({ source, id, limit: 1 });
    const rejection = items[0];
    if (!rejection) throw new ServerError(E.RECORD_NOT_FOUND, 404, `no record ${JSON.stringify(id)} of ${JSON.stringify(source)} was received`, { details: { source, id } });
    return {
      source,
      id,
      status: 'rejected',
      verdict: 'rejected',
      type: rejection.type,
      errors: rejection.errors,
      rulesetVersion: rejection.rulesetVersion,
      receivedAt: rejection.receivedAt.toISOString(),
      ...(rejection.payload === null ? {} : { record: rejection.payload }),
      targets: {},
      deliveries: [],
    };
  });
}

function storedView(r: StoredRecord) {
  return {
    source: r.source,
    id: r.id,
    status: r.verdict,
    verdict: r.verdict,
    type: r.type,
    subject: r.subject,
    code: r.code,
    message: r.message,
    rulesetVersion: r.rulesetVersion,
    receivedAt: r.receivedAt.toISOString(),
    payloadHash: r.payloadHash,
    record: r.payload,
    targets: Object.fromEntries(
      Object.entries(r.targets).map(([name, t]) => [
        name,
        {
          status: t.status,
          attempts: t.attempts,
          replays: t.replays,
          nextAttemptAt: t.nextAttemptAt?.toISOString() ?? null,
          lastError: t.lastError,
          deliveredAt: t.deliveredAt?.toISOString() ?? null,
          receipt: t.receipt,
        },
      ]),
    ),
    deliveries: r.deliveries.map((d) => ({
      target: d.target,
      at: d.at.toISOString(),
      outcome: d.outcome,
      statusCode: d.statusCode,
      targetId: d.targetId,
      latencyMs: d.latencyMs,
      error: d.error,
    })),
  };
}

const SINGLE_STATUS: Record<ItemStatus, number> = { accepted: 202, skipped: 202, duplicate: 200, conflict: 409, rejected: 422 };

function answer(reply: FastifyReply, body: ParsedRecords, results: ItemResult[], rulesetVersion: string, receivedAt: string, validating: boolean) {
  if (!body.batch) {
    const { index: _index, ...r } = results[0];
    if (r.status === 'rejected' && !validating) {
      const [first, ...more] = r.errors ?? [];
      throw new ServerError(E.RECORD_REJECTED, 422, `the record was rejected: ${first ? `${first.code}: ${first.message}` : 'no reason given'}${more.length ? ` (and ${more.length} more)` : ''}`, {
        details: { ...r, rulesetVersion, receivedAt },
      });
    }
    if (r.status === 'conflict') {
      throw new ServerError(E.RECORD_CONFLICT, 409, `a record ${JSON.stringify(r.id)} of ${JSON.stringify(r.source)} with other content was already received at ${r.existing?.receivedAt}; send a new id for a new record`, {
        details: { ...r, rulesetVersion, receivedAt },
      });
    }
    return reply.code(validating ? 200 : SINGLE_STATUS[r.status]).send({ ...r, rulesetVersion, receivedAt });
  }
  const counts = { accepted: 0, skipped: 0, duplicate: 0, conflict: 0, rejected: 0 };
  for (const r of results) counts[r.status] += 1;
  const stored = !validating && counts.accepted + counts.skipped > 0;
  return reply.code(stored ? 202 : 200).send({ rulesetVersion, receivedAt, counts, results });
}
