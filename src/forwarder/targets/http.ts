/**
 * Generic JSON over HTTP.
 *
 * Single sends POST the mapping output as JSON with `idempotency-key: <item key>`. Batch sends POST a JSON
 * array with `idempotency-key: batch-<sha256 of the items' keys>`; the receiver should still deduplicate each
 * element by its own key (the default mapping puts it in `idempotency_key`), since a batch can be formed again
 * with other items.
 *
 * Answers:
 * - 2xx: delivered. For a batch, a body `{"results":[{"status":201,"id":"..."}, ...]}` with one entry per
 *   element is read per item (each entry's status classified like a whole answer; 409 = duplicate).
 * - 409: delivered as a duplicate — the receiver already holds this key (the convention of the generic
 *   target: "conflict" means "I have it"). A receiver that uses 409 for anything else must not be used with
 *   this preset.
 * - 408, 429, 5xx, no answer: retry, Retry-After honoured.
 * - any other status: permanent; for a batch of several items, each item is isolated and sent alone.
 */
import { OptionsError } from '../../errors.js';
import { classifyStatus, parseRetryAfter, truncateAnswer } from '../retry-policy.js';
import { all, basic, batchKey, bearer, byStatus, chunk, isFailure, isPlainObject, parseJson, refuse, toJson } from './common.js';
import { checkHeaders, checkNumber, checkString, rejectUnknown, splitBaseUrl } from './options.js';
import type {
  BuildResult,
  CommonTargetOptions,
  ItemOutcome,
  OutboxItem,
  TargetAdapter,
  TargetAnswer,
  TargetFailure,
  TargetRequest,
} from './types.js';

export type HttpAuth = { type: 'bearer'; token: string } | { type: 'basic'; username: string; password: string };

export interface HttpTargetOptions extends CommonTargetOptions {
  /** Full URL the items are POSTed to. */
  url: string;
  auth?: HttpAuth;
  /** Send JSON arrays of up to `batchSize` items. Default false. */
  batch?: boolean;
  /** Default 100. */
  batchSize?: number;
}

const WHERE = 'http target';
const KNOWN = ['name', 'headers', 'concurrency', 'timeoutMs', 'url', 'auth', 'batch', 'batchSize'] as const;

function authHeader(auth: unknown): string | undefined {
  if (auth === undefined) return undefined;
  if (!isPlainObject(auth)) throw new OptionsError(`${WHERE}: option "auth" must be an object`, { option: 'auth' });
  if (auth.type === 'bearer') {
    rejectUnknown(auth, ['type', 'token'], `${WHERE} auth`);
    return bearer(checkString(auth.token, 'auth.token', WHERE));
  }
  if (auth.type === 'basic') {
    rejectUnknown(auth, ['type', 'username', 'password'], `${WHERE} auth`);
    if (typeof auth.password !== 'string') throw new OptionsError(`${WHERE}: option "auth.password" must be a string`, { option: 'auth.password' });
    return basic(checkString(auth.username, 'auth.username', WHERE), auth.password);
  }
  throw new OptionsError(`${WHERE}: option "auth.type" must be "bearer" or "basic"`, { option: 'auth.type' });
}

export function createHttpTarget(options: HttpTargetOptions): TargetAdapter {
  rejectUnknown(options, KNOWN, WHERE);
  const { origin, prefix, search } = splitBaseUrl(options.url, 'url', WHERE, { allowQuery: true });
  const path = `${prefix === '' ? '/' : prefix}${search}`;
  const batch = options.batch ?? false;
  if (typeof batch !== 'boolean') throw new OptionsError(`${WHERE}: option "batch" must be a boolean`, { option: 'batch' });
  const batchSize = batch ? checkNumber(options.batchSize ?? 100, 'batchSize', WHERE, { min: 1, integer: true }) : 1;
  const baseHeaders: Record<string, string> = { ...checkHeaders(options.headers, WHERE), 'content-type': 'application/json' };
  const auth = authHeader(options.auth);
  if (auth !== undefined) baseHeaders.authorization = auth;

  /** One item sent alone, its key in the header. */
  const single = (item: OutboxItem, json: string): TargetRequest => ({
    method: 'POST',
    origin,
    path,
    headers: { ...baseHeaders, 'idempotency-key': item.idempotencyKey },
    body: json,
    items: [item],
  });

  function buildRequests(items: OutboxItem[]): BuildResult {
    // The common case, one item sent alone as the store holds it: no intermediate arrays.
    if (!batch && items.length === 1 && items[0]!.outputJson !== undefined) return { requests: [single(items[0]!, items[0]!.outputJson)], refused: [] };
    const refused = [];
    const ok: { item: OutboxItem; json: string }[] = [];
    for (const item of items) {
      const json = item.outputJson ?? (item.output === undefined ? undefined : toJson(item.output));
      if (json === undefined) refused.push(refuse(item, 'the mapping output is not JSON-serialisable'));
      else ok.push({ item, json });
    }
    const requests: TargetRequest[] = [];
    if (!batch) {
      for (const { item, json } of ok) requests.push(single(item, json));
    } else {
      for (const group of chunk(ok, batchSize)) {
        const groupItems = group.map((g) => g.item);
        requests.push({
          method: 'POST',
          origin,
          path,
          headers: { ...baseHeaders, 'idempotency-key': batchKey(groupItems) },
          body: `[${group.map((g) => g.json).join(',')}]`,
          items: groupItems,
        });
      }
    }
    return { requests, refused };
  }

  function classify(req: TargetRequest, answer: TargetAnswer | TargetFailure, now = Date.now()): ItemOutcome[] {
    if (isFailure(answer)) return byStatus(req, answer, now);
    if (answer.status === 409) return all(req, { kind: 'delivered', status: 409, duplicate: true });
    if (classifyStatus(answer.status) !== 'delivered') return byStatus(req, answer, now);
    const body = parseJson(answer.body);
    if (!batch) {
      const id = isPlainObject(body) && typeof body.id === 'string' ? body.id : undefined;
      return [{ kind: 'delivered', status: answer.status, ...(id === undefined ? {} : { targetId: id }) }];
    }
    const results = isPlainObject(body) ? body.results : undefined;
    if (!Array.isArray(results) || results.length !== req.items.length) return all(req, { kind: 'delivered', status: answer.status });
    return results.map((r: unknown) => perItem(r, answer, now));
  }

  return {
    name: options.name ?? 'http',
    preset: 'http',
    maxBatch: batchSize,
    // The output is sent as the store's JSON text, never read as a value.
    readsOutputJson: true,
    concurrency: checkNumber(options.concurrency ?? 8, 'concurrency', WHERE, { min: 1, integer: true }),
    timeoutMs: checkNumber(options.timeoutMs ?? 10_000, 'timeoutMs', WHERE, { min: 1 }),
    buildRequests,
    classify,
  };
}

/** One element of a batch answer's `results`. */
function perItem(result: unknown, answer: TargetAnswer, now: number): ItemOutcome {
  const status = isPlainObject(result) && typeof result.status === 'number' ? result.status : answer.status;
  const id = isPlainObject(result) && typeof result.id === 'string' ? result.id : undefined;
  const targetId = id === undefined ? {} : { targetId: id };
  if (status === 409) return { kind: 'delivered', status, duplicate: true, ...targetId };
  const cls = classifyStatus(status);
  if (cls === 'delivered') return { kind: 'delivered', status, ...targetId };
  const text = truncateAnswer(JSON.stringify(result));
  if (cls === 'permanent') return { kind: 'permanent', status, reason: `item refused with status ${status}`, answer: text };
  const retryAfterMs = parseRetryAfter(answer.headers['retry-after'], now);
  return { kind: 'retry', status, reason: `item status ${status}`, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
}
