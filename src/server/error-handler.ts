/**
 * Every error becomes `{ code, message, ...details }` JSON with a status that fits. Fastify's own errors
 * (media type, body size, validation) are translated to our codes, so clients meet one vocabulary.
 * Anything unexpected is a 500 BLH_ERR_INTERNAL whose message names the request id; its cause is
 * logged, never sent.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BilhetagemError } from '../errors.ts';
import { ServerError, ServerErrorCodes as E } from './errors.ts';
import type { ServerErrorCode } from './errors.ts';

const FASTIFY_CODES: Record<string, [ServerErrorCode, number, string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [E.UNSUPPORTED_MEDIA_TYPE, 415, 'unsupported Content-Type'],
  FST_ERR_CTP_INVALID_TYPE: [E.UNSUPPORTED_MEDIA_TYPE, 415, 'the Content-Type header is not valid'],
  FST_ERR_CTP_BODY_TOO_LARGE: [E.BODY_TOO_LARGE, 413, 'the body is too large'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [E.REQUEST_INVALID, 400, 'the Content-Length does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [E.EMPTY_BODY, 400, 'the body is empty'],
  FST_ERR_BAD_URL: [E.REQUEST_INVALID, 400, 'the URL is not valid'],
  FST_ERR_MAX_PARAM_LENGTH: [E.REQUEST_INVALID, 414, 'a path parameter is too long'],
  FST_ERR_ASYNC_CONSTRAINT: [E.REQUEST_INVALID, 400, 'the request is not valid'],
};

export function toServerError(error: FastifyError | Error, request: FastifyRequest, bodyLimit: number, mediaTypes: readonly string[]): BilhetagemError {
  if (error instanceof BilhetagemError) return error;
  const fe = error as FastifyError;
  if (fe.validation) {
    return new ServerError(E.REQUEST_INVALID, 400, `the request is not valid: ${fe.message}`, {
      details: { problems: fe.validation.map((v) => ({ in: fe.validationContext, path: v.instancePath, message: v.message })) },
    });
  }
  const known = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (known) {
    const [code, status, what] = known;
    const contentType = request.headers['content-type'];
    const message =
      code === E.UNSUPPORTED_MEDIA_TYPE
        ? `${what}${contentType ? ` "${contentType}"` : ' (none given)'}; this route takes ${mediaTypes.join(', ')}`
        : code === E.BODY_TOO_LARGE
          ? `${what}: at most ${bodyLimit} bytes are taken per request; send smaller batches`
          : `${what}: ${fe.message}`;
    return new ServerError(code, status, message, { cause: error, details: code === E.BODY_TOO_LARGE ? { bodyLimit } : {} });
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new ServerError(E.REQUEST_INVALID, fe.statusCode, fe.message, { cause: error });
  }
  return new ServerError(E.INTERNAL, 500, `an internal error occurred; the server log has the details under request id ${request.id}`, { cause: error });
}

export function sendError(error: BilhetagemError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = error.statusCode ?? 500;
  if (status >= 500) {
    request.log.error({ err: error.cause ?? error, code: error.code }, error.message);
    if (status === 503) reply.header('retry-after', '1');
  } else {
    request.log.info({ code: error.code, statusCode: status }, error.message);
  }
  if (error instanceof ServerError) for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  // A store error's JSON carries only code, message and details: never a driver's internals.
  return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(error.toJSON()));
}
