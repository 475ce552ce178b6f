/** The forwarder: delivery of outbox rows to billing targets, dead letters, replays, metrics. */
export { createForwarder, FORWARDER_DEFAULTS } from './forwarder.ts';
export type { CycleSummary, Forwarder, ForwarderOptions, ForwarderStats, ForwarderStore, ResolvedForwarderOptions } from './forwarder.ts';
export type { DeliveryDead, DeliveryRetry, DeliverySent, ForwarderErrorEvent, ForwarderEvents, Logger } from './events.ts';
export { expandEnv, mappingOf, mappingTargets, mockBillerTargets, outputsForTargets, resolveTargets } from './config.ts';
export type { BreakerConfig, Env, ResolvedTarget, ResolveTargetsOptions, TargetConfig, TargetsConfig } from './config.ts';
export { createForwarderMetrics, createMetricsRegistry, Counter, Gauge, Histogram, QUEUE_METRICS } from './metrics.ts';
export type { ForwarderMetrics, MetricsRegistry } from './metrics.ts';
export { findDeadLetter, listDeadLetters, parseTimeRange, replayDelivered, resolveDeadLetters, showDeadLetter } from './dead-letters.ts';
export type { DeadLetterSelection, DeadLetterView, ResolveOutcome } from './dead-letters.ts';
export { adminRoutes } from './admin-routes.ts';
export type { AdminAction, AdminRoutesOptions } from './admin-routes.ts';
export { createBreaker, isTargetFailure } from './breaker.ts';
export type { Breaker, BreakerChange, BreakerOptions, BreakerSnapshot, BreakerState } from './breaker.ts';
export { createRetryPolicy, defaultRetryLimits, sendWithRetry } from './retry-policy.ts';
export type { RetryLimits, RetryPolicy, RetryPolicyOptions } from './retry-policy.ts';
export { BreakerOpenError, EnvMissingError, ForwarderError, ForwarderErrorCodes, TargetConfigError, TimeRangeError } from './errors.ts';
export { createTarget, TargetPresets } from './targets/index.ts';
export type { TargetAdapter, TargetPreset } from './targets/index.ts';
