/**
 * The ingest flow of one request: every record judged by one pipeline at one receive time, then every
 * accepted or skipped record stored with its outbox rows in one store call (one transaction, shared with
 * concurrent requests by group commit), and rejections logged beside it. The promise resolves after the
 * commit, so an answer of "accepted" always means "on disk".
 */
import type { Pipeline } from '../pipeline.ts';
import type { IngestItem, IngestOutcome, Store } from '../ports/store.ts';
import type { PipelineResult, RejectionError } from '../types.ts';
import { maySource } from '../auth/scopes.ts';
import { payloadHash } from './canonical-json.ts';
import { forbidden } from './errors.ts';
import { malformedError } from './body/parse-records.ts';
import type { BodyItem } from './body/parse-records.ts';

export type ItemStatus = 'accepted' | 'skipped' | 'duplicate' | 'conflict' | 'rejected';

export interface ItemResult {
  index: number;
  status: ItemStatus;
  source?: string;
  id?: string;
  /** NDJSON line. */
  line?: number;
  /** Skipped: the rule's code and message. */
  code?: string;
  message?: string;
  /** Rejected: every reason. */
  errors?: RejectionError[];
  /** Duplicate or conflict: what was stored first. */
  existing?: { verdict: string; receivedAt: string };
  /** Validate only: what each target would receive. */
  outputs?: Record<string, unknown>;
}

/** Identity problems of a record the pipeline passed (a ruleset without an envelope schema may let them through). */
export const IDENTITY_MISSING = 'IDENTITY_MISSING';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const field = (record: unknown, name: string): unknown => (typeof record === 'object' && record !== null && !Array.isArray(record) ? (record as Record<string, unknown>)[name] : undefined);

/** 403 when any record names a source the key may not send: nothing of the request is judged or stored. */
export function checkSources(items: readonly BodyItem[], scopes: readonly string[]): void {
  let refused: Set<string> | undefined;
  for (const item of items) {
    const source = field(item.value, 'source');
    if (typeof source === 'string' && !maySource(scopes, source)) (refused ??= new Set()).add(source);
  }
  if (refused) {
    const list = [...refused].slice(0, 10);
    throw forbidden(`this API key may not send records for ${list.map((s) => JSON.stringify(s)).join(', ')}${refused.size > 10 ? ' (and more)' : ''}`, { sources: list });
  }
}

/** Runs the pipeline over every item; malformed NDJSON lines are rejections of their own. */
export async function judge(items: readonly BodyItem[], pipeline: Pipeline, nowMs: number): Promise<PipelineResult[]> {
  const out: (PipelineResult | Promise<PipelineResult>)[] = new Array(items.length);
  let pending = false;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item.malformed !== undefined) {
      out[i] = { verdict: 'rejected', errors: [malformedError(item)], rulesetVersion: pipeline.version };
      continue;
    }
    const r = pipeline.processMaybeSync(item.value, nowMs);
    if (r instanceof Promise) pending = true;
    out[i] = r;
  }
  return pending ? Promise.all(out) : (out as PipelineResult[]);
}

/** A record the pipeline passed but that has no usable identity cannot be stored: it is rejected. */
function identityProblem(record: unknown): RejectionError | undefined {
  for (const name of ['source', 'id', 'type']) {
    if (str(field(record, name)) === undefined) {
      return { code: IDENTITY_MISSING, message: `a record needs a non-empty string "${name}" to be stored`, path: `/${name}`, expected: 'a non-empty string', actual: field(record, name) ?? null };
    }
  }
  return undefined;
}

export interface IngestContext {
  store: Store;
  keepRejectedPayloads: boolean;
  /** Rejections are logged only for sources the key may use, so one product cannot fill another's log. */
  scopes: readonly string[];
  /** Outputs by mapping folder to outbox rows by target name (see ServerOptions.outbox). */
  outbox?: (outputs: Record<string, unknown>) => Record<string, unknown>;
}

export async function storeVerdicts(
  ctx: IngestContext,
  items: readonly BodyItem[],
  verdicts: PipelineResult[],
  receivedAt: Date,
): Promise<ItemResult[]> {
  const results: ItemResult[] = new Array(items.length);
  const toStore: IngestItem[] = [];
  const storedIndex: number[] = [];
  const logged: Promise<void>[] = [];

  for (let i = 0; i < items.length; i++) {
    const record = items[i].value;
    let verdict = verdicts[i];
    const source = str(field(record, 'source'));
    const id = str(field(record, 'id'));
    const base: ItemResult = { index: i, status: 'rejected' };
    if (source !== undefined) base.source = source;
    if (id !== undefined) base.id = id;
    if (items[i].line !== undefined) base.line = items[i].line;

    if (verdict.verdict !== 'rejected') {
      const problem = identityProblem(record);
      if (problem) verdict = { verdict: 'rejected', errors: [problem], rulesetVersion: verdict.rulesetVersion };
    }
    if (verdict.verdict === 'rejected') {
      results[i] = { ...base, errors: verdict.errors };
      if (source !== undefined && id !== undefined && maySource(ctx.scopes, source)) {
        const type = str(field(record, 'type'));
        logged.push(
          ctx.store.recordRejection({
            source,
            id,
            ...(type === undefined ? {} : { type }),
            errors: verdict.errors,
            rulesetVersion: verdict.rulesetVersion,
            receivedAt,
            ...(ctx.keepRejectedPayloads && record !== undefined ? { payload: record } : {}),
          }),
        );
      }
      continue;
    }
    const subject = str(field(record, 'subject'));
    const item: IngestItem = {
      source: source!,
      id: id!,
      type: field(record, 'type') as string,
      payload: record,
      payloadHash: payloadHash(record),
      verdict: verdict.verdict,
      rulesetVersion: verdict.rulesetVersion,
      receivedAt,
    };
    if (subject !== undefined) item.subject = subject;
    if (verdict.verdict === 'accepted') item.outputs = ctx.outbox ? ctx.outbox(verdict.outputs) : verdict.outputs;
    else {
      item.code = verdict.code;
      item.message = verdict.message;
    }
    results[i] = base;
    toStore.push(item);
    storedIndex.push(i);
  }

  const stored = toStore.length ? ctx.store.ingest(toStore) : ([] as IngestOutcome[]);
  const outcomes = logged.length ? (await Promise.all([stored, ...logged]))[0] : await stored;
  for (let k = 0; k < outcomes.length; k++) {
    const outcome = outcomes[k];
    const i = storedIndex[k];
    const r = results[i];
    r.status = outcome.status;
    const v = verdicts[i];
    if (outcome.status === 'skipped' && v.verdict === 'skipped') {
      r.code = v.code;
      r.message = v.message;
    }
    if (outcome.existing) r.existing = { verdict: outcome.existing.verdict, receivedAt: outcome.existing.receivedAt.toISOString() };
  }
  return results;
}

/** The answers of /v1/records/validate: verdicts with what each target would get, nothing stored. */
export function verdictResults(items: readonly BodyItem[], verdicts: PipelineResult[]): ItemResult[] {
  return verdicts.map((verdict, i) => {
    const record = items[i].value;
    const r: ItemResult = { index: i, status: verdict.verdict };
    const source = str(field(record, 'source'));
    const id = str(field(record, 'id'));
    if (source !== undefined) r.source = source;
    if (id !== undefined) r.id = id;
    if (items[i].line !== undefined) r.line = items[i].line;
    const problem = verdict.verdict === 'rejected' ? undefined : identityProblem(record);
    if (verdict.verdict === 'rejected' || problem) {
      r.status = 'rejected';
      r.errors = problem ? [problem] : (verdict as { errors: RejectionError[] }).errors;
    } else if (verdict.verdict === 'skipped') {
      r.code = verdict.code;
      r.message = verdict.message;
    } else r.outputs = verdict.outputs;
    return r;
  });
}
