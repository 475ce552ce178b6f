/**
 * The messages of proto/bilhetagem/v1/bilhetagem.proto as they look in JavaScript with the loader's
 * options (load.ts): snake_case fields, enums as their names, absent fields as their defaults. Written by
 * hand to match the .proto; the tests round-trip every one of them through a real client.
 */

/** A CloudEvents 1.0 event with typed envelope attributes; `data` and extensions as JSON text. */
export interface UsageRecordMessage {
  specversion: string;
  id: string;
  source: string;
  type: string;
  time: string;
  subject: string;
  datacontenttype: string;
  dataschema: string;
  data_json: string;
  extensions_json: string;
}

export const RecordStatus = {
  UNSPECIFIED: 'RECORD_STATUS_UNSPECIFIED',
  ACCEPTED: 'RECORD_STATUS_ACCEPTED',
  SKIPPED: 'RECORD_STATUS_SKIPPED',
  DUPLICATE: 'RECORD_STATUS_DUPLICATE',
  CONFLICT: 'RECORD_STATUS_CONFLICT',
  REJECTED: 'RECORD_STATUS_REJECTED',
} as const;
export type RecordStatusName = (typeof RecordStatus)[keyof typeof RecordStatus];

export interface RejectionReasonMessage {
  code: string;
  message: string;
  path: string;
  keyword: string;
  rule: string;
  expected_json: string;
  actual_json: string;
  condition_json: string;
}

export interface ExistingRecordMessage {
  verdict: RecordStatusName;
  received_at: string;
}

export interface RecordResultMessage {
  index: number;
  status: RecordStatusName;
  source: string;
  id: string;
  code: string;
  message: string;
  errors: RejectionReasonMessage[];
  existing: ExistingRecordMessage | null;
  outputs_json: Record<string, string>;
}

export interface StatusCountsMessage {
  accepted: number;
  skipped: number;
  duplicate: number;
  conflict: number;
  rejected: number;
}

export interface BatchRequestMessage {
  records: UsageRecordMessage[];
}

export interface TransformRequestMessage extends BatchRequestMessage {
  targets: string[];
}

/** ValidateResponse, TransformResponse and SubmitResponse have the same fields. */
export interface BatchResponseMessage {
  ruleset_version: string;
  received_at: string;
  counts: StatusCountsMessage;
  results: RecordResultMessage[];
}

export interface SubmitStreamRequestMessage {
  record: UsageRecordMessage | null;
}

export interface SubmitStreamResponseMessage {
  sequence: number;
  result: RecordResultMessage;
  ruleset_version: string;
  received_at: string;
}

export const ServingStatus = {
  UNKNOWN: 'UNKNOWN',
  SERVING: 'SERVING',
  NOT_SERVING: 'NOT_SERVING',
  SERVICE_UNKNOWN: 'SERVICE_UNKNOWN',
} as const;
export type ServingStatusName = (typeof ServingStatus)[keyof typeof ServingStatus];

export interface HealthCheckRequestMessage {
  service: string;
}

export interface HealthCheckResponseMessage {
  status: ServingStatusName;
}

/** Full names of the services, as health checks and reflection know them. */
export const SERVICE_NAMES = {
  validation: 'bilhetagem.v1.ValidationService',
  transformation: 'bilhetagem.v1.TransformationService',
  ingest: 'bilhetagem.v1.IngestService',
  health: 'grpc.health.v1.Health',
} as const;
