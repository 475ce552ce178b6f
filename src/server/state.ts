/** What the routes of one server share: its options, the running ruleset, metrics and the rate limiter. */
import pino from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { createMetrics } from './metrics.ts';
import type { Metrics } from './metrics.ts';
import { createRateLimiter } from './rate-limit.ts';
import type { RateLimiter } from './rate-limit.ts';
import { createRulesetHolder } from './ruleset-holder.ts';
import type { RulesetHolder } from './ruleset-holder.ts';
import type { ResolvedServerOptions } from './options.ts';

export interface ServerState {
  options: ResolvedServerOptions;
  logger: FastifyBaseLogger;
  holder: RulesetHolder;
  metrics: Metrics;
  limiter: RateLimiter | undefined;
  /** Set when the server starts closing: new requests get 503 while in-flight ones finish. */
  closing: boolean;
  inFlight: number;
}

/** Loads the ruleset (rejecting with its error when it is bad) and sets everything else up. */
export async function createServerState(options: ResolvedServerOptions): Promise<ServerState> {
  const logger = options.logger ?? (pino({ level: 'silent' }) as FastifyBaseLogger);
  const holder = createRulesetHolder({
    rules: options.rules,
    mappings: options.mappings,
    ruleset: options.ruleset,
    pipeline: options.pipeline,
    clock: options.clock,
    store: options.store,
    logger,
  });
  await holder.reload('startup');
  return {
    options,
    logger,
    holder,
    metrics: createMetrics(),
    limiter: options.rateLimit ? createRateLimiter(options.rateLimit, options.clock) : undefined,
    closing: false,
    inFlight: 0,
  };
}
