/**
 * JSON Schemas of the routes: they validate parameters, shape (and speed up) the answers, and are the
 * OpenAPI document. Records themselves are judged by the pipeline, not here; their schema only documents.
 */
import type { FastifySchema } from 'fastify';

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  description: 'Every error answer. Branch on `code` (listed in docs/errors.md); `message` says what was wrong.',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', examples: ['BLH_ERR_UNAUTHORIZED'] },
    message: { type: 'string' },
  },
  additionalProperties: true,
} as const;

const rejectionError = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', description: 'A pipeline code (SCHEMA_VIOLATION, MALFORMED...) or a rule\'s own code.' },
    message: { type: 'string' },
    path: { type: 'string', description: 'JSON pointer into the record.' },
    keyword: { type: 'string' },
    rule: { type: 'string' },
  },
  additionalProperties: true,
} as const;

export const cloudEventSchema = {
  type: 'object',
  description: 'A usage record: a CloudEvents 1.0 event in structured JSON. The ruleset decides what is valid; identity is (source, id).',
  properties: {
    specversion: { type: 'string', examples: ['1.0'] },
    id: { type: 'string', examples: ['call-1'] },
    source: { type: 'string', description: 'The product; an API key is scoped to the sources it may send.', examples: ['voice-platform'] },
    type: { type: 'string', examples: ['voice.call.completed'] },
    time: { type: 'string', format: 'date-time' },
    subject: { type: 'string', examples: ['acme'] },
    data: { type: 'object', additionalProperties: true },
  },
  additionalProperties: true,
} as const;

export const recordsBodySchema = {
  description:
    'One record, an array of records (`application/json`, `application/cloudevents+json`, `application/cloudevents-batch+json`) ' +
    'or one record per line (`application/x-ndjson`).',
  oneOf: [cloudEventSchema, { type: 'array', items: cloudEventSchema }],
} as const;

const itemStatus = { type: 'string', enum: ['accepted', 'skipped', 'duplicate', 'conflict', 'rejected'] } as const;

const itemResult = {
  type: 'object',
  required: ['index', 'status'],
  properties: {
    index: { type: 'integer', description: 'Position in the batch (0-based).' },
    status: itemStatus,
    source: { type: 'string' },
    id: { type: 'string' },
    line: { type: 'integer', description: 'NDJSON line (1-based).' },
    code: { type: 'string', description: 'Skipped: the rule\'s code.' },
    message: { type: 'string' },
    errors: { type: 'array', items: rejectionError, description: 'Rejected: every reason.' },
    existing: {
      type: 'object',
      description: 'Duplicate or conflict: the record stored first under this identity.',
      properties: { verdict: { type: 'string' }, receivedAt: { type: 'string', format: 'date-time' } },
    },
    outputs: { type: 'object', additionalProperties: true, description: 'Validate only: the body each target would receive.' },
  },
} as const;

const counts = {
  type: 'object',
  properties: Object.fromEntries(['accepted', 'skipped', 'duplicate', 'conflict', 'rejected'].map((s) => [s, { type: 'integer' }])),
} as const;

const single = {
  type: 'object',
  description: 'The answer for one record sent on its own.',
  properties: {
    ...itemResult.properties,
    rulesetVersion: { type: 'string' },
    receivedAt: { type: 'string', format: 'date-time' },
  },
  required: ['status', 'rulesetVersion'],
} as const;

const batch = {
  type: 'object',
  description: 'The answer for a batch: one result per record, in order. Valid records are kept even when others fail.',
  required: ['rulesetVersion', 'counts', 'results'],
  properties: {
    rulesetVersion: { type: 'string' },
    receivedAt: { type: 'string', format: 'date-time' },
    counts,
    results: { type: 'array', items: itemResult },
  },
} as const;

const singleOrBatch = { oneOf: [single, batch] } as const;

const errorRef = { $ref: 'Error#' } as const;

const commonErrors = {
  400: errorRef,
  401: errorRef,
  403: errorRef,
  413: errorRef,
  415: errorRef,
  429: errorRef,
  503: errorRef,
} as const;

const security: { [scheme: string]: string[] }[] = [{ apiKey: [] }, { bearer: [] }];
const consumes = ['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json', 'application/x-ndjson'];

export const ingestRoute: FastifySchema = {
  summary: 'Submit usage records',
  description:
    'Each record is judged by the running ruleset. Accepted and skipped records are stored (with their outbox rows) in one ' +
    'durable transaction before the answer is sent. One record: 202 accepted or skipped, 200 duplicate, 409 conflict, 422 rejected. ' +
    'A batch: 202 when any record was stored, else 200, with one result per record.',
  tags: ['records'],
  security,
  consumes,
  body: recordsBodySchema,
  response: {
    200: singleOrBatch,
    202: singleOrBatch,
    409: { ...errorRef },
    422: { ...errorRef },
    ...commonErrors,
  },
};

export const validateRoute: FastifySchema = {
  summary: 'Judge records without storing them',
  description: 'The same verdicts as POST /v1/records (accepted, skipped, rejected), with the mapped body per target; nothing is stored.',
  tags: ['records'],
  security,
  consumes,
  body: recordsBodySchema,
  response: { 200: singleOrBatch, ...commonErrors },
};

const targetState = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['pending', 'delivered', 'dead', 'discarded'] },
    attempts: { type: 'integer' },
    replays: { type: 'integer' },
    nextAttemptAt: { type: ['string', 'null'], format: 'date-time' },
    lastError: { type: ['string', 'null'] },
    deliveredAt: { type: ['string', 'null'], format: 'date-time' },
    receipt: { type: ['object', 'null'], additionalProperties: true },
  },
} as const;

const delivery = {
  type: 'object',
  properties: {
    target: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    outcome: { type: 'string', enum: ['delivered', 'retry', 'dead'] },
    statusCode: { type: ['integer', 'null'] },
    targetId: { type: ['string', 'null'] },
    latencyMs: { type: ['number', 'null'] },
    error: { type: ['string', 'null'] },
  },
} as const;

const sourceIdParams = {
  type: 'object',
  required: ['source', 'id'],
  properties: {
    source: { type: 'string', minLength: 1, maxLength: 512, description: 'URL-encoded (a source such as /voice becomes %2Fvoice).' },
    id: { type: 'string', minLength: 1, maxLength: 512 },
  },
} as const;

export const getRecordRoute: FastifySchema = {
  summary: 'A record\'s status, verdict and deliveries',
  tags: ['records'],
  security,
  params: sourceIdParams,
  response: {
    200: {
      type: 'object',
      required: ['source', 'id', 'status', 'rulesetVersion', 'receivedAt'],
      properties: {
        source: { type: 'string' },
        id: { type: 'string' },
        status: { type: 'string', enum: ['accepted', 'skipped', 'rejected'] },
        verdict: { type: 'string', enum: ['accepted', 'skipped', 'rejected'] },
        type: { type: ['string', 'null'] },
        subject: { type: ['string', 'null'] },
        code: { type: ['string', 'null'], description: 'Skipped: the rule\'s code.' },
        message: { type: ['string', 'null'] },
        errors: { type: 'array', items: rejectionError, description: 'Rejected: every reason (the latest rejection).' },
        rulesetVersion: { type: 'string' },
        receivedAt: { type: 'string', format: 'date-time' },
        payloadHash: { type: 'string' },
        record: { description: 'The record as received.' },
        targets: { type: 'object', additionalProperties: targetState },
        deliveries: { type: 'array', items: delivery },
      },
    },
    404: errorRef,
    400: errorRef,
    401: errorRef,
    403: errorRef,
    429: errorRef,
  },
};

export const healthRoute: FastifySchema = {
  summary: 'Liveness: the process answers',
  tags: ['operations'],
  response: { 200: { type: 'object', properties: { status: { type: 'string', const: 'ok' } } } },
};

export const readyRoute: FastifySchema = {
  summary: 'Readiness: the database takes writes and a ruleset is loaded',
  tags: ['operations'],
  response: {
    200: {
      type: 'object',
      properties: {
        status: { type: 'string' },
        rulesetVersion: { type: 'string' },
        rulesetLoadedAt: { type: 'string', format: 'date-time' },
        lastReloadError: { type: ['object', 'null'], additionalProperties: true },
        forwarder: { additionalProperties: true },
      },
    },
    503: errorRef,
  },
};

export const metricsRoute: FastifySchema = {
  summary: 'Prometheus metrics',
  tags: ['operations'],
  produces: ['text/plain'],
  response: { 200: { type: 'string', description: 'Prometheus text exposition format 0.0.4.' } },
};

const rulesetState = {
  type: 'object',
  properties: {
    version: { type: 'string' },
    name: { type: 'string' },
    loadedAt: { type: 'string', format: 'date-time' },
    changed: { type: 'boolean' },
    previous: { type: ['string', 'null'] },
    lastReloadError: { type: ['object', 'null'], additionalProperties: true },
  },
} as const;

const adminSecurity: { [scheme: string]: string[] }[] = [{ apiKey: [] }, { bearer: [] }, { basic: [] }];

export const reloadRoute: FastifySchema = {
  summary: 'Reload the ruleset from its files',
  description: 'The new ruleset is loaded and compiled first; if it is bad the running one stays (422 BLH_ERR_RULESET_RELOAD with the error).',
  tags: ['admin'],
  security: adminSecurity,
  response: { 200: rulesetState, 401: errorRef, 403: errorRef, 422: errorRef },
};

export const rulesetRoute: FastifySchema = {
  summary: 'The running ruleset and the last reload error',
  tags: ['admin'],
  security: adminSecurity,
  response: { 200: rulesetState, 401: errorRef, 403: errorRef },
};

export const openapiInfo = {
  openapi: {
    info: {
      title: 'bilhetagem',
      description: 'Usage records in, billable charges out. Errors are always `{ code, message }` JSON; codes are listed in docs/errors.md.',
      version: '1',
    },
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        bearer: { type: 'http', scheme: 'bearer' },
        basic: { type: 'http', scheme: 'basic' },
      },
    },
    tags: [
      { name: 'records', description: 'Submit and look up usage records' },
      { name: 'operations', description: 'Health, readiness, metrics' },
      { name: 'admin', description: 'Administration (admin key or account)' },
    ],
  },
} as const;
