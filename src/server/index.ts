// The HTTP server: `buildServer(options)` for an app of its own, `bilhetagemServer` to mount inside another Fastify app.
export { buildServer, type BilhetagemHandle } from './build-server.ts';
export { bilhetagemServer, type BilhetagemPluginOptions } from './plugin.ts';
export { createServerState, type ServerState } from './state.ts';
export { resolveServerOptions, SERVER_DEFAULTS, type ServerOptions, type ResolvedServerOptions, type ForwarderHandle, type RateLimitOptions } from './options.ts';
export { ServerError, ServerErrorCodes, type ServerErrorCode } from './errors.ts';
export { createLogger, REDACTED_PATHS } from './logger.ts';
export { bootstrap, type BootstrapResult } from './bootstrap.ts';
export type { Principal } from './authenticate.ts';
export type { ItemResult, ItemStatus } from './ingest.ts';
