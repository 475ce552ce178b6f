/** A usage record: a CloudEvents 1.0 event in structured JSON form. Identity is (source, id). */
export interface UsageRecord {
  specversion: string;
  id: string;
  source: string;
  type: string;
  time?: string;
  subject?: string;
  datacontenttype?: string;
  data?: Record<string, unknown>;
  [extension: string]: unknown;
}

/** One reason a record was rejected. */
export interface RejectionError {
  /** Stable code: a rule's event code (e.g. TIME_IN_FUTURE) or a pipeline code (SCHEMA_INVALID, ...). */
  code: string;
  message: string;
  /** JSON pointer into the record (schema errors). */
  path?: string;
  /** The JSON Schema keyword that failed (schema errors). */
  keyword?: string;
  /** The rule that fired (rule errors). */
  rule?: string;
  /** The decisive condition of that rule, as written, with what it saw. */
  condition?: ConditionTrace;
  /** What the rule or schema wanted. */
  expected?: unknown;
  /** What the record had. */
  actual?: unknown;
}

export interface ConditionTrace {
  fact: string;
  path?: string;
  operator: string;
  value: unknown;
  factValue: unknown;
  compareValue: unknown;
  result: boolean;
}

export interface Annotation {
  type: string;
  params?: Record<string, unknown>;
  rule?: string;
}

export interface AcceptedResult {
  verdict: 'accepted';
  /** Output of the default target's mapping. */
  output: unknown;
  /** Output of every target the pipeline maps to, by target name. */
  outputs: Record<string, unknown>;
  annotations: Annotation[];
  rulesetVersion: string;
}

export interface SkippedResult {
  verdict: 'skipped';
  code: string;
  message: string;
  rule?: string;
  rulesetVersion: string;
}

export interface RejectedResult {
  verdict: 'rejected';
  errors: RejectionError[];
  rulesetVersion: string;
}

export type PipelineResult = AcceptedResult | SkippedResult | RejectedResult;
export type Verdict = PipelineResult['verdict'];

export interface ProcessOptions {
  /** "Now" for time-dependent rules: a Date, epoch milliseconds or an RFC 3339 string. Default: the pipeline's clock. */
  now?: Date | number | string;
}
