/**
 * startGrpcServer(options): the gRPC face of the ingest server — ValidationService, TransformationService,
 * IngestService and grpc.health.v1.Health on one port — over the same pipeline, store and API keys as the
 * HTTP server. It listens (the HTTP server's buildServer does not), but owns no signals and never exits
 * the process: `serve` starts it beside the HTTP server and stops it before closing the store.
 */
import type * as GrpcJs from '@grpc/grpc-js';
import { batchHandler, UNDECODABLE } from './batch-calls.ts';
import { createContext } from './context.ts';
import { GrpcError, GrpcErrorCodes as E, GrpcStatus } from './errors.ts';
import { createHealth } from './health.ts';
import { loadGrpc } from './load.ts';
import { SERVICE_NAMES } from './messages.ts';
import { resolveGrpcOptions } from './options.ts';
import type { GrpcServerOptions } from './options.ts';
import { submitStreamHandler } from './submit-stream.ts';
import type { StreamControl } from './submit-stream.ts';

export interface GrpcServerHandle {
  /** The port listened on (the one given, or the one taken for port 0). */
  readonly port: number;
  /** `host:port`, as a client dials it. */
  readonly address: string;
  /**
   * Stops taking calls, lets unary calls finish and streams answer the records they have read (then end
   * with UNAVAILABLE), for at most `drainTimeoutMs`, then closes. Idempotent. Call it before closing the store.
   */
  stop(): Promise<void>;
}

export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServerHandle> {
  const o = resolveGrpcOptions(options);
  const { grpc, services } = await loadGrpc();
  const ctx = createContext(o, grpc);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': o.maxMessageBytes,
    'grpc.max_send_message_length': -1,
  });
  const streams = new Set<StreamControl>();
  const health = o.health ? createHealth(ctx) : undefined;

  const path = (service: string, method: string) => `/${service}/${method}`;
  server.addService(safeDecoding(services.validation), {
    Validate: batchHandler(ctx, path(SERVICE_NAMES.validation, 'Validate'), 'validate'),
  });
  server.addService(safeDecoding(services.transformation), {
    Transform: batchHandler(ctx, path(SERVICE_NAMES.transformation, 'Transform'), 'transform'),
  });
  server.addService(safeDecoding(services.ingest), {
    Submit: batchHandler(ctx, path(SERVICE_NAMES.ingest, 'Submit'), 'submit'),
    SubmitStream: submitStreamHandler(ctx, path(SERVICE_NAMES.ingest, 'SubmitStream'), streams),
  });
  if (health) server.addService(services.health, health.implementation as unknown as GrpcJs.UntypedServiceImplementation);

  const address = hostPort(o.host, o.port);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error) {
        server.forceShutdown();
        reject(new GrpcError(E.LISTEN, GrpcStatus.UNAVAILABLE, `the gRPC server could not listen on ${address}: ${error.message}`, { cause: error, details: { host: o.host, port: o.port } }));
      } else resolve(bound);
    });
  });
  o.logger.info({ event: 'grpc:listening', host: o.host, port, maxMessageBytes: o.maxMessageBytes, maxBatch: o.maxBatch }, `gRPC listening on ${hostPort(o.host, port)}`);

  let stopping: Promise<void> | undefined;
  return {
    port,
    address: hostPort(o.host, port),
    stop: () =>
      (stopping ??= (async () => {
        ctx.closing = true;
        o.logger.info({ event: 'grpc:draining', streams: streams.size }, 'gRPC: no new calls; finishing the ones in flight');
        health?.close();
        for (const s of [...streams]) s.drain();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            o.logger.warn({ event: 'grpc:forced', streams: streams.size }, `gRPC: calls still open after ${o.drainTimeoutMs} ms; cutting them off`);
            server.forceShutdown();
            resolve();
          }, o.drainTimeoutMs);
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        o.logger.info({ event: 'grpc:closed' }, 'gRPC closed');
      })()),
  };
}

/** IPv6 literals are bracketed in a gRPC target. */
function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * grpc-js answers a request it cannot decode with INTERNAL "Error deserializing request"; with this the
 * handler gets a marker instead and answers INVALID_ARGUMENT saying which message type was expected.
 */
function safeDecoding(service: GrpcJs.ServiceDefinition): GrpcJs.ServiceDefinition {
  const out: Record<string, GrpcJs.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(service)) {
    const m = method as GrpcJs.MethodDefinition<unknown, unknown> & { requestType?: { type?: { name?: string } } };
    const type = `bilhetagem.v1.${m.requestType?.type?.name ?? `${name}Request`}`;
    const decode = m.requestDeserialize;
    out[name] = {
      ...m,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (error) {
          return { [UNDECODABLE]: { type, reason: (error as Error)?.message ?? String(error) } };
        }
      },
    };
  }
  return out as GrpcJs.ServiceDefinition;
}
