/**
 * A small typed client of the gRPC API, for tests, examples and Node services: records go in as the
 * CloudEvents JSON objects the HTTP API takes, answers come back with JSON fields parsed, and a failed
 * call rejects with a GrpcCallError whose `code` is the server's BLH_ERR_* code. Services in other
 * languages generate their own stubs from proto/bilhetagem/v1/bilhetagem.proto.
 */
import type * as GrpcJs from '@grpc/grpc-js';
import { BilhetagemError } from '../errors.ts';
import type { RejectionError, UsageRecord } from '../types.ts';
import { ERROR_CODE_KEY, ERROR_JSON_KEY, GrpcErrorCodes, GrpcStatus } from './errors.ts';
import { loadGrpc } from './load.ts';
import { RecordStatus, SERVICE_NAMES } from './messages.ts';
import type {
  BatchResponseMessage,
  RecordResultMessage,
  RecordStatusName,
  ServingStatusName,
  StatusCountsMessage,
  SubmitStreamResponseMessage,
  UsageRecordMessage,
} from './messages.ts';
import { ATTRIBUTES } from './records.ts';

export interface GrpcClientOptions {
  /** `host:port` of the server. */
  address: string;
  /** Sent as `x-api-key` metadata on every call (Health calls too; they ignore it). */
  apiKey?: string;
  /** More metadata for every call. */
  metadata?: Record<string, string>;
  /** Default: plaintext, as on loopback or inside a service mesh; pass grpc.credentials.createSsl() for TLS. */
  credentials?: GrpcJs.ChannelCredentials;
  /** grpc-js channel options, e.g. { 'grpc.max_send_message_length': ... }. */
  channelOptions?: GrpcJs.ChannelOptions;
}

export type RecordStatusView = 'accepted' | 'skipped' | 'duplicate' | 'conflict' | 'rejected' | 'unspecified';

/** One answer, with the JSON fields of the message parsed back into values. */
export interface RecordView {
  index: number;
  status: RecordStatusView;
  source?: string;
  id?: string;
  code?: string;
  message?: string;
  errors?: RejectionError[];
  existing?: { verdict: RecordStatusView; receivedAt: string };
  /** Transform: what each target would receive. */
  outputs?: Record<string, unknown>;
}

export interface BatchView {
  rulesetVersion: string;
  receivedAt: string;
  counts: StatusCountsMessage;
  results: RecordView[];
}

export interface StreamAnswer {
  sequence: number;
  result: RecordView;
  rulesetVersion: string;
  receivedAt: string;
}

export interface SubmitStream {
  /** Sends one record; false when the stream's buffer is full (wait for drained() before sending more). */
  send(record: UsageRecord | Record<string, unknown>): boolean;
  /** Resolves when the stream takes more records again. */
  drained(): Promise<void>;
  /** No more records; the server answers the ones sent and ends the stream. */
  end(): void;
  /** The answers, in the order the records were sent; throws a GrpcCallError when the stream ends with an error status. */
  answers(): AsyncGenerator<StreamAnswer, void, undefined>;
  /** The underlying grpc-js call. */
  readonly call: GrpcJs.ClientDuplexStream<{ record?: Partial<UsageRecordMessage> | null }, SubmitStreamResponseMessage>;
}

export interface BilhetagemGrpcClient {
  validate(records: readonly (UsageRecord | Record<string, unknown>)[], options?: CallOptions): Promise<BatchView>;
  transform(records: readonly (UsageRecord | Record<string, unknown>)[], options?: CallOptions & { targets?: string[] }): Promise<BatchView>;
  submit(records: readonly (UsageRecord | Record<string, unknown>)[], options?: CallOptions): Promise<BatchView>;
  submitStream(options?: CallOptions): SubmitStream;
  /** grpc.health.v1 Check: SERVING, NOT_SERVING... of a service, "" for the server. */
  health(service?: string): Promise<ServingStatusName>;
  /** The generated grpc-js clients, for calls with messages of your own. */
  readonly raw: { validation: GrpcJs.Client; transformation: GrpcJs.Client; ingest: GrpcJs.Client; health: GrpcJs.Client };
  /** Metadata with the key and the extra entries, as every call sends it. */
  metadata(): GrpcJs.Metadata;
  close(): void;
}

export interface CallOptions {
  /** Milliseconds from now. */
  deadlineMs?: number;
  /** Metadata for this call only, on top of the client's. */
  metadata?: Record<string, string>;
}

/** A failed call: `code` is the server's BLH_ERR_* code, or BLH_ERR_GRPC_CALL_FAILED for a status without one. */
export class GrpcCallError extends BilhetagemError {
  readonly grpcStatus: number;
  readonly grpcStatusName: string;
  readonly metadata: GrpcJs.Metadata | undefined;

  constructor(error: Partial<GrpcJs.ServiceError>) {
    const metadata = error.metadata;
    const code = metadata?.get(ERROR_CODE_KEY)[0];
    const raw = metadata?.get(ERROR_JSON_KEY)[0];
    let body: Record<string, unknown> = {};
    if (Buffer.isBuffer(raw)) {
      try {
        body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        body = {};
      }
    }
    const { code: _code, message: _message, ...details } = body;
    const status = error.code ?? GrpcStatus.UNKNOWN;
    super(typeof code === 'string' ? code : GrpcErrorCodes.CALL_FAILED, error.details ?? error.message ?? 'the call failed', { cause: error, details });
    this.name = 'GrpcCallError';
    this.grpcStatus = status;
    this.grpcStatusName = Object.entries(GrpcStatus).find(([, v]) => v === status)?.[0] ?? String(status);
    this.metadata = metadata;
  }
}

/** The message of a CloudEvents JSON object: envelope attributes as fields, `data` and extensions as JSON text. */
export function toRecordMessage(event: UsageRecord | Record<string, unknown>): Partial<UsageRecordMessage> {
  const m: Partial<UsageRecordMessage> = {};
  const extensions: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(event)) {
    if (value === undefined) continue;
    if ((ATTRIBUTES as readonly string[]).includes(name)) {
      if (typeof value !== 'string') throw new TypeError(`the CloudEvents attribute "${name}" must be a string to travel over gRPC, got ${JSON.stringify(value)}`);
      m[name as (typeof ATTRIBUTES)[number]] = value;
    } else if (name === 'data') m.data_json = JSON.stringify(value);
    else extensions[name] = value;
  }
  if (Object.keys(extensions).length > 0) m.extensions_json = JSON.stringify(extensions);
  return m;
}

const STATUS_VIEW: Record<RecordStatusName, RecordStatusView> = {
  [RecordStatus.UNSPECIFIED]: 'unspecified',
  [RecordStatus.ACCEPTED]: 'accepted',
  [RecordStatus.SKIPPED]: 'skipped',
  [RecordStatus.DUPLICATE]: 'duplicate',
  [RecordStatus.CONFLICT]: 'conflict',
  [RecordStatus.REJECTED]: 'rejected',
};

const parse = (text: string): unknown => (text === '' ? undefined : JSON.parse(text));

export function recordView(m: RecordResultMessage): RecordView {
  const v: RecordView = { index: m.index, status: STATUS_VIEW[m.status] ?? 'unspecified' };
  if (m.source) v.source = m.source;
  if (m.id) v.id = m.id;
  if (m.code) v.code = m.code;
  if (m.message) v.message = m.message;
  if (m.errors?.length) {
    v.errors = m.errors.map((e) => {
      const r: RejectionError = { code: e.code, message: e.message };
      if (e.path) r.path = e.path;
      if (e.keyword) r.keyword = e.keyword;
      if (e.rule) r.rule = e.rule;
      if (e.expected_json) r.expected = parse(e.expected_json);
      if (e.actual_json) r.actual = parse(e.actual_json);
      if (e.condition_json) r.condition = parse(e.condition_json) as RejectionError['condition'];
      return r;
    });
  }
  if (m.existing) v.existing = { verdict: STATUS_VIEW[m.existing.verdict] ?? 'unspecified', receivedAt: m.existing.received_at };
  const outputs = Object.entries(m.outputs_json ?? {});
  if (outputs.length > 0) v.outputs = Object.fromEntries(outputs.map(([t, json]) => [t, parse(json)]));
  return v;
}

export function batchView(m: BatchResponseMessage): BatchView {
  return { rulesetVersion: m.ruleset_version, receivedAt: m.received_at, counts: m.counts, results: m.results.map(recordView) };
}

type Unary = (request: unknown, metadata: GrpcJs.Metadata, options: GrpcJs.CallOptions, callback: (error: GrpcJs.ServiceError | null, response: unknown) => void) => void;

export async function createGrpcClient(options: GrpcClientOptions): Promise<BilhetagemGrpcClient> {
  const { grpc, services } = await loadGrpc();
  const credentials = options.credentials ?? grpc.credentials.createInsecure();
  const make = (service: GrpcJs.ServiceDefinition, name: string) => {
    const Ctor = grpc.makeGenericClientConstructor(service as GrpcJs.ServiceDefinition, name);
    return new Ctor(options.address, credentials, options.channelOptions);
  };
  const raw = {
    validation: make(services.validation, SERVICE_NAMES.validation),
    transformation: make(services.transformation, SERVICE_NAMES.transformation),
    ingest: make(services.ingest, SERVICE_NAMES.ingest),
    health: make(services.health, SERVICE_NAMES.health),
  };

  const metadata = (extra: Record<string, string> = {}) => {
    const md = new grpc.Metadata();
    if (options.apiKey !== undefined) md.set('x-api-key', options.apiKey);
    for (const [k, v] of Object.entries({ ...options.metadata, ...extra })) md.set(k, v);
    return md;
  };
  const callOptions = (o: CallOptions = {}): GrpcJs.CallOptions => (o.deadlineMs === undefined ? {} : { deadline: Date.now() + o.deadlineMs });

  const unary = <T>(client: GrpcJs.Client, method: string, request: unknown, o: CallOptions | undefined): Promise<T> =>
    new Promise((resolve, reject) => {
      const fn = (client as unknown as Record<string, Unary>)[method];
      fn.call(client, request, metadata(o?.metadata), callOptions(o), (error, response) => (error ? reject(new GrpcCallError(error)) : resolve(response as T)));
    });

  const batch = async (client: GrpcJs.Client, method: string, request: unknown, o: CallOptions | undefined) => batchView(await unary<BatchResponseMessage>(client, method, request, o));

  return {
    raw,
    metadata: () => metadata(),
    validate: (records, o) => batch(raw.validation, 'Validate', { records: records.map(toRecordMessage) }, o),
    transform: (records, o) => batch(raw.transformation, 'Transform', { records: records.map(toRecordMessage), targets: o?.targets ?? [] }, o),
    submit: (records, o) => batch(raw.ingest, 'Submit', { records: records.map(toRecordMessage) }, o),
    submitStream(o) {
      const call = (raw.ingest as unknown as { SubmitStream(md: GrpcJs.Metadata, options: GrpcJs.CallOptions): SubmitStream['call'] }).SubmitStream(metadata(o?.metadata), callOptions(o));
      return {
        call,
        send: (record) => call.write({ record: toRecordMessage(record) }),
        drained: () => new Promise<void>((resolve) => call.once('drain', () => resolve())),
        end: () => call.end(),
        async *answers() {
          try {
            for await (const m of call as AsyncIterable<SubmitStreamResponseMessage>) {
              yield { sequence: m.sequence, result: recordView(m.result), rulesetVersion: m.ruleset_version, receivedAt: m.received_at };
            }
          } catch (error) {
            throw new GrpcCallError(error as GrpcJs.ServiceError);
          }
        },
      };
    },
    async health(service = '') {
      const r = await unary<{ status: ServingStatusName }>(raw.health, 'Check', { service }, undefined);
      return r.status;
    },
    close() {
      for (const c of Object.values(raw)) c.close();
    },
  };
}
