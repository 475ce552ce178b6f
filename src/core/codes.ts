/**
 * Rejection and skip codes the pipeline itself gives (rule authors' codes such as TIME_IN_FUTURE come
 * from their rules files). Every one is listed in docs/errors.md; a test keeps the list complete.
 */
export const PipelineCodes = {
  /** The record does not match its type's JSON Schema (or the envelope schema). */
  SCHEMA_VIOLATION: 'SCHEMA_VIOLATION',
  /** The record is not a JSON object. */
  NOT_AN_OBJECT: 'NOT_AN_OBJECT',
  /** A rule's comparison threw (e.g. an operator given a value it cannot compare). */
  RULE_EVALUATION_FAILED: 'RULE_EVALUATION_FAILED',
  /** A mapping failed for this record (a JSONata error, a time or depth limit). */
  MAPPING_FAILED: 'MAPPING_FAILED',
  /** A line of a batch file is not valid JSON or CSV (CLI and HTTP NDJSON). */
  MALFORMED: 'MALFORMED',
} as const;
