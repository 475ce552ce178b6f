/**
 * Validate, Transform and Submit: one batch of records per call, judged by one pipeline at one receive
 * time, exactly as POST /v1/records/validate and POST /v1/records do it (the same functions). Submit
 * answers after the commit, so ACCEPTED means on disk.
 */
import type { Metadata, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { checkSources, judge, storeVerdicts, verdictResults } from '../server/ingest.ts';
import { notReady, ServerErrorCodes } from '../server/errors.ts';
import { admit, beginCall, countMetrics, failure, logCall, REQUEST_ID_KEY } from './context.ts';
import type { CallLog, GrpcContext } from './context.ts';
import { GrpcError, GrpcErrorCodes as E, GrpcStatus } from './errors.ts';
import type { BatchResponseMessage, TransformRequestMessage } from './messages.ts';
import { countStatuses, readBatch, resultMessage } from './records.ts';

/** What a request that grpc-js could not decode becomes (see undecodable()), so the handler can answer INVALID_ARGUMENT after authentication. */
export const UNDECODABLE = Symbol('undecodable');
export interface Undecodable {
  [UNDECODABLE]: { type: string; reason: string };
}

export function isUndecodable(value: unknown): value is Undecodable {
  return typeof value === 'object' && value !== null && UNDECODABLE in value;
}

export function badMessage(value: Undecodable): GrpcError {
  const { type, reason } = value[UNDECODABLE];
  return new GrpcError(E.BAD_MESSAGE, GrpcStatus.INVALID_ARGUMENT, `the request is not a valid ${type} protobuf message: ${reason}`, { details: { type } });
}

type Mode = 'validate' | 'transform' | 'submit';

export function batchHandler(ctx: GrpcContext, method: string, mode: Mode) {
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    const log = beginCall(ctx, method, call.metadata);
    run(ctx, mode, call.request, call.metadata, log).then(
      (response) => {
        const trailer = new ctx.grpc.Metadata();
        trailer.set(REQUEST_ID_KEY, log.callId);
        callback(null, response, trailer);
        logCall(ctx, log, undefined);
      },
      (error: unknown) => {
        const status = failure(ctx, error, log.callId, method);
        callback(status);
        logCall(ctx, log, status);
      },
    );
  };
}

async function run(ctx: GrpcContext, mode: Mode, request: unknown, metadata: Metadata, log: CallLog): Promise<Partial<BatchResponseMessage>> {
  const o = ctx.o;
  const principal = await admit(ctx, metadata);
  log.principal = principal;
  if (isUndecodable(request)) throw badMessage(request);
  const { records, targets: wanted } = request as Partial<TransformRequestMessage>;
  const count = records?.length ?? 0;
  log.records = count;
  if (!records || count === 0) throw new GrpcError(E.NO_RECORDS, GrpcStatus.INVALID_ARGUMENT, 'the request holds no records; send at least one in "records"');
  if (count > o.maxBatch) {
    throw new GrpcError(ServerErrorCodes.BATCH_TOO_LARGE, GrpcStatus.INVALID_ARGUMENT, `the request holds ${count} records; at most ${o.maxBatch} are taken per call (send smaller batches, or use SubmitStream)`, {
      details: { count, maxBatch: o.maxBatch },
    });
  }
  const items = readBatch(records, o.maxDepth);
  checkSources(items, principal.scopes);
  const pipeline = o.pipeline();
  if (!pipeline) throw notReady('no ruleset is loaded yet');

  let targets: readonly string[] | undefined;
  if (mode === 'transform' && wanted && wanted.length > 0) {
    const unknown = wanted.filter((t) => !pipeline.targets.includes(t));
    if (unknown.length > 0) {
      throw new GrpcError(E.UNKNOWN_TARGET, GrpcStatus.INVALID_ARGUMENT, `no mappings for target${unknown.length > 1 ? 's' : ''} ${unknown.map((t) => JSON.stringify(t)).join(', ')}; the server maps to ${pipeline.targets.join(', ')}`, {
        details: { targets: unknown, known: [...pipeline.targets] },
      });
    }
    targets = wanted;
  }

  const receivedAtMs = o.clock();
  const receivedAt = new Date(receivedAtMs);
  const verdicts = await judge(items, pipeline, receivedAtMs);
  const results =
    mode === 'submit'
      ? await storeVerdicts({ store: o.store, keepRejectedPayloads: o.keepRejectedPayloads, scopes: principal.scopes, outbox: o.outbox }, items, verdicts, receivedAt)
      : verdictResults(items, verdicts);
  if (mode === 'submit') countMetrics(o, results);
  const outputs = mode === 'transform' ? { targets } : undefined;
  return {
    ruleset_version: pipeline.version,
    received_at: receivedAt.toISOString(),
    counts: countStatuses(results),
    results: results.map((r, i) => resultMessage(r, i, outputs)) as BatchResponseMessage['results'],
  };
}
