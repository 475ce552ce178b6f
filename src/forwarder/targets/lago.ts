/**
 * Lago usage events.
 *
 * The mapping output is Lago's inner event object (`transaction_id`, `external_subscription_id`, `code`,
 * `timestamp`, `properties`). One item goes to `POST /api/v1/events` as `{"event": ...}`; several go to
 * `POST /api/v1/events/batch` as `{"events": [...]}` (at most 100). Lago deduplicates by `transaction_id`.
 *
 * Answers:
 * - 2xx: delivered (`targetId` = Lago's `lago_id` when the answer has it).
 * - 422 naming `transaction_id` with `value_already_exist` (or the newer `value_is_missing_or_already_exists`;
 *   we never send an empty transaction_id, so it can only mean "exists"): delivered, duplicate.
 * - 422 on a batch: Lago refuses the whole batch and keys `error_details` by event index. Events it names are
 *   permanent (or delivered, when their only complaint is the duplicate transaction_id). The others were not
 *   stored and are returned as `retry` with `collateral: true, retryAfterMs: 0`: the forwarder sends them again
 *   at once (in a new batch, without the bad ones), without counting an attempt. We chose that over splitting
 *   inside the adapter so the adapter stays one-request-in, outcomes-out.
 * - A batch refused without per-index details (e.g. `too_many_events`) or with another 4xx: each item isolated.
 * - 408, 429, 5xx, no answer: retry. Other 4xx on one event (404 subscription or metric not found, 401): permanent.
 */
import { OptionsError } from '../../errors.js';
import { classifyStatus, truncateAnswer } from '../retry-policy.js';
import { bearer, byStatus, chunk, isFailure, isNonEmptyString, isPlainObject, isolateAll, parseJson, refuse } from './common.js';
import { checkHeaders, checkNumber, checkString, rejectUnknown, splitBaseUrl } from './options.js';
import type {
  BuildResult,
  CommonTargetOptions,
  ItemOutcome,
  OutboxItem,
  RefusedItem,
  TargetAdapter,
  TargetAnswer,
  TargetFailure,
  TargetRequest,
} from './types.js';

export interface LagoTargetOptions extends CommonTargetOptions {
  /** Default `https://api.getlago.com`; a self-hosted Lago's API URL otherwise. */
  apiUrl?: string;
  /** Lago API key, sent as `Authorization: Bearer <apiKey>`. */
  apiKey: string;
  /** Use the batch endpoint for several items. Default true. */
  batch?: boolean;
  /** At most 100 (Lago's limit). Default 100. */
  batchSize?: number;
}

export const LAGO_MAX_BATCH = 100;
const WHERE = 'lago target';
const KNOWN = ['name', 'headers', 'concurrency', 'timeoutMs', 'apiUrl', 'apiKey', 'batch', 'batchSize'] as const;
const ALREADY_EXISTS = new Set(['value_already_exist', 'value_is_missing_or_already_exists']);

/** Why Lago would refuse this event, or undefined if it is fine (the contract's checks, not Lago's business ones). */
export function lagoEventProblem(event: unknown): string | undefined {
  if (!isPlainObject(event)) return 'the mapping output is not an object';
  if (!isNonEmptyString(event.transaction_id)) return 'transaction_id must be a non-empty string';
  if (!isNonEmptyString(event.code)) return 'code must be a non-empty string';
  if (event.external_subscription_id !== undefined && typeof event.external_subscription_id !== 'string') {
    return 'external_subscription_id must be a string';
  }
  if (event.external_customer_id !== undefined && typeof event.external_customer_id !== 'string') {
    return 'external_customer_id must be a string';
  }
  const ts = event.timestamp;
  if (ts !== undefined && !(typeof ts === 'string' || (typeof ts === 'number' && Number.isInteger(ts)))) {
    return 'timestamp must be whole unix seconds (a number) or a string';
  }
  if (event.properties !== undefined) {
    if (!isPlainObject(event.properties)) return 'properties must be an object';
    for (const [k, v] of Object.entries(event.properties)) {
      if (!(typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)))) return `properties.${k} must be a string or a number`;
    }
  }
  if (event.precise_total_amount_cents !== undefined && typeof event.precise_total_amount_cents !== 'string') {
    return 'precise_total_amount_cents must be a string';
  }
  return undefined;
}

export function createLagoTarget(options: LagoTargetOptions): TargetAdapter {
  rejectUnknown(options, KNOWN, WHERE);
  const { origin, prefix } = splitBaseUrl(options.apiUrl ?? 'https://api.getlago.com', 'apiUrl', WHERE);
  const batch = options.batch ?? true;
  if (typeof batch !== 'boolean') throw new OptionsError(`${WHERE}: option "batch" must be a boolean`, { option: 'batch' });
  const batchSize = batch ? checkNumber(options.batchSize ?? LAGO_MAX_BATCH, 'batchSize', WHERE, { min: 1, integer: true }) : 1;
  if (batchSize > LAGO_MAX_BATCH) throw new OptionsError(`${WHERE}: option "batchSize" must be at most ${LAGO_MAX_BATCH}`, { option: 'batchSize' });
  const headers: Record<string, string> = {
    ...checkHeaders(options.headers, WHERE),
    'content-type': 'application/json',
    authorization: bearer(checkString(options.apiKey, 'apiKey', WHERE)),
  };
  const singlePath = `${prefix}/api/v1/events`;
  const batchPath = `${prefix}/api/v1/events/batch`;

  function buildRequests(items: OutboxItem[]): BuildResult {
    const refused: RefusedItem[] = [];
    const ok: OutboxItem[] = [];
    for (const item of items) {
      const problem = lagoEventProblem(item.output);
      if (problem === undefined) ok.push(item);
      else refused.push(refuse(item, `not a valid Lago event: ${problem}`));
    }
    const requests: TargetRequest[] = chunk(ok, batchSize).map((group) =>
      group.length === 1
        ? { method: 'POST', origin, path: singlePath, headers, body: JSON.stringify({ event: group[0]!.output }), items: group }
        : { method: 'POST', origin, path: batchPath, headers, body: JSON.stringify({ events: group.map((i) => i.output) }), items: group },
    );
    return { requests, refused };
  }

  function classify(req: TargetRequest, answer: TargetAnswer | TargetFailure, now = Date.now()): ItemOutcome[] {
    if (isFailure(answer)) return byStatus(req, answer, now);
    const isBatch = req.path === batchPath;
    if (classifyStatus(answer.status) === 'delivered') return delivered(req, answer, isBatch);
    if (answer.status !== 422) return byStatus(req, answer, now);
    const body = parseJson(answer.body);
    const details = isPlainObject(body) && isPlainObject(body.error_details) ? body.error_details : undefined;
    const text = truncateAnswer(answer.body);
    if (!isBatch) {
      if (details && alreadyExists(details)) return [{ kind: 'delivered', status: 422, duplicate: true }];
      return [{ kind: 'permanent', status: 422, reason: `Lago refused the event: ${summary(details)}`, answer: text }];
    }
    const indexed = details !== undefined && Object.keys(details).some((k) => /^\d+$/.test(k));
    if (!indexed) return isolateAll(req, answer);
    return req.items.map((_item, index): ItemOutcome => {
      const mine = details[String(index)];
      if (!isPlainObject(mine)) {
        return { kind: 'retry', status: 422, retryAfterMs: 0, collateral: true, reason: 'batch refused because of other events in it' };
      }
      if (alreadyExists(mine)) return { kind: 'delivered', status: 422, duplicate: true };
      return { kind: 'permanent', status: 422, reason: `Lago refused event ${index} of the batch: ${summary(mine)}`, answer: text };
    });
  }

  return {
    name: options.name ?? 'lago',
    preset: 'lago',
    maxBatch: batchSize,
    concurrency: checkNumber(options.concurrency ?? 4, 'concurrency', WHERE, { min: 1, integer: true }),
    timeoutMs: checkNumber(options.timeoutMs ?? 15_000, 'timeoutMs', WHERE, { min: 1 }),
    buildRequests,
    classify,
  };
}

function alreadyExists(details: Record<string, unknown>): boolean {
  const codes = details.transaction_id;
  return Array.isArray(codes) && codes.some((c) => typeof c === 'string' && ALREADY_EXISTS.has(c));
}

function summary(details: Record<string, unknown> | undefined): string {
  return details === undefined ? 'no error details' : truncateAnswer(JSON.stringify(details), 300);
}

function delivered(req: TargetRequest, answer: TargetAnswer, isBatch: boolean): ItemOutcome[] {
  const body = parseJson(answer.body);
  const events = isPlainObject(body) ? (isBatch ? body.events : [body.event]) : undefined;
  return req.items.map((_item, index): ItemOutcome => {
    const event = Array.isArray(events) ? events[index] : undefined;
    const id = isPlainObject(event) && typeof event.lago_id === 'string' ? event.lago_id : undefined;
    return { kind: 'delivered', status: answer.status, ...(id === undefined ? {} : { targetId: id }) };
  });
}
