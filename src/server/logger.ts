/**
 * The logger `serve` uses: pino JSON lines, with every place a credential could appear redacted. The
 * server itself never logs headers or bodies; this is the second line of defence.
 */
import pino from 'pino';
import type { DestinationStream, Logger, LoggerOptions } from 'pino';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'authorization',
  'apiKey',
  'key',
  'secret',
  'password',
  'passwordHash',
  'hash',
  '*.apiKey',
  '*.key',
  '*.secret',
  '*.password',
  '*.passwordHash',
  '*.hash',
];

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const config: LoggerOptions = {
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}
