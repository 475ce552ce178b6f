/**
 * grpc.health.v1.Health, for grpc_health_probe, Kubernetes gRPC probes and load balancers. No API key:
 * probes carry none, and the answer tells nothing but "serving". The server as a whole ("") and
 * IngestService serve when a ruleset is loaded and the database takes writes; Validation and
 * Transformation need only the ruleset. Everything is NOT_SERVING once stop() begins.
 */
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { GrpcStatus } from './errors.ts';
import type { GrpcContext } from './context.ts';
import { SERVICE_NAMES, ServingStatus } from './messages.ts';
import type { HealthCheckRequestMessage, HealthCheckResponseMessage, ServingStatusName } from './messages.ts';

/** How often a Watch looks for a change. */
const WATCH_INTERVAL_MS = 2000;

export interface HealthService {
  implementation: {
    Check(call: ServerUnaryCall<HealthCheckRequestMessage, HealthCheckResponseMessage>, callback: sendUnaryData<HealthCheckResponseMessage>): void;
    Watch(call: ServerWritableStream<HealthCheckRequestMessage, HealthCheckResponseMessage>): void;
  };
  /** Tells every watcher NOT_SERVING and ends its call (stop() waits for calls to end). */
  close(): void;
}

export function createHealth(ctx: GrpcContext): HealthService {
  const watchers = new Set<() => void>();

  async function statusOf(service: string): Promise<ServingStatusName | undefined> {
    const needsStore = service === '' || service === SERVICE_NAMES.ingest;
    if (!needsStore && service !== SERVICE_NAMES.validation && service !== SERVICE_NAMES.transformation && service !== SERVICE_NAMES.health) return undefined;
    if (service === SERVICE_NAMES.health) return ctx.closing ? ServingStatus.NOT_SERVING : ServingStatus.SERVING;
    if (ctx.closing || !ctx.o.pipeline()) return ServingStatus.NOT_SERVING;
    if (needsStore && !(await ctx.o.store.ready())) return ServingStatus.NOT_SERVING;
    return ServingStatus.SERVING;
  }

  return {
    implementation: {
      Check(call, callback) {
        const service = call.request?.service ?? '';
        statusOf(service).then(
          (status) => {
            if (status === undefined) callback({ code: GrpcStatus.NOT_FOUND, details: `unknown service ${JSON.stringify(service)}; this server has ${Object.values(SERVICE_NAMES).join(', ')} and "" (the server)` });
            else callback(null, { status });
          },
          () => callback(null, { status: ServingStatus.NOT_SERVING }),
        );
      },
      Watch(call) {
        const service = call.request?.service ?? '';
        let last: ServingStatusName | undefined;
        let ended = false;
        const send = (status: ServingStatusName) => {
          if (ended || status === last) return;
          last = status;
          call.write({ status });
        };
        const poll = () => {
          statusOf(service).then(
            (s) => send(s ?? ServingStatus.SERVICE_UNKNOWN),
            () => send(ServingStatus.NOT_SERVING),
          );
        };
        const timer = setInterval(poll, WATCH_INTERVAL_MS);
        timer.unref();
        const end = () => {
          if (ended) return;
          send(ServingStatus.NOT_SERVING);
          ended = true;
          clearInterval(timer);
          watchers.delete(end);
          call.end();
        };
        watchers.add(end);
        call.on('cancelled', () => {
          ended = true;
          clearInterval(timer);
          watchers.delete(end);
        });
        poll();
      },
    },
    close() {
      for (const end of [...watchers]) end();
    },
  };
}
