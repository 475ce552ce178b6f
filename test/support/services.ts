/**
 * External services some tests need (PostgreSQL, RabbitMQ). On a laptop without them those tests are
 * skipped, with the reason printed; in CI (BILHETAGEM_REQUIRE_SERVICES=1) a missing service is a failed
 * test, so a broken service can never pass as "all green, some skipped".
 *
 *   const postgres = await requireService('postgres');
 *   describe.skipIf(!postgres.available)('...', () => { ... });
 *
 * Where they are: BILHETAGEM_TEST_POSTGRES_URL and BILHETAGEM_TEST_RABBITMQ_URL, defaulting to the
 * services on 127.0.0.1 that .ci/run starts.
 */
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { it } from 'vitest';

export const POSTGRES_URL = process.env.BILHETAGEM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const RABBITMQ_URL = process.env.BILHETAGEM_TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export type ServiceName = 'postgres' | 'rabbitmq';

export interface ServiceCheck {
  available: boolean;
  reason?: string;
}

const labels: Record<ServiceName, string> = { postgres: 'PostgreSQL', rabbitmq: 'RabbitMQ' };
const checks = new Map<ServiceName, Promise<ServiceCheck>>();
const TIMEOUT_MS = 3000;

/**
 * Connects to the service (TCP, then the protocol's own handshake with the configured credentials).
 * Call it at the top level of a test file. When the service is missing it prints why and, if
 * BILHETAGEM_REQUIRE_SERVICES=1, also adds a test that fails with that reason.
 */
export async function requireService(name: ServiceName): Promise<ServiceCheck> {
  let check = checks.get(name);
  if (!check) {
    check = probe(name).then(
      () => ({ available: true }),
      (error: unknown) => ({ available: false, reason: (error as Error)?.message ?? String(error) }),
    );
    checks.set(name, check);
  }
  const result = await check;
  if (!result.available) {
    if (process.env.BILHETAGEM_REQUIRE_SERVICES === '1') {
      it(`${labels[name]} is available (BILHETAGEM_REQUIRE_SERVICES=1)`, () => {
        throw new Error(`${labels[name]} is required but unavailable: ${result.reason}`);
      });
    } else {
      console.warn(`skipping ${labels[name]} tests: ${result.reason} (set BILHETAGEM_TEST_${name.toUpperCase()}_URL to point at one)`);
    }
  }
  return result;
}

async function probe(name: ServiceName): Promise<void> {
  const url = new URL(name === 'postgres' ? POSTGRES_URL : RABBITMQ_URL);
  const port = Number(url.port || (name === 'postgres' ? 5432 : 5672));
  await tcp(url.hostname, port);
  if (name === 'postgres') await postgresHandshake();
  else await amqpHandshake();
}

function tcp(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: TIMEOUT_MS });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`no answer from ${host}:${port} within ${TIMEOUT_MS} ms`));
    });
    socket.once('error', (error) => reject(new Error(`nothing listening at ${host}:${port} (${error.message})`)));
  });
}

async function postgresHandshake(): Promise<void> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new Error(`PostgreSQL at ${redact(POSTGRES_URL)} refused the connection: ${(error as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function amqpHandshake(): Promise<void> {
  const amqp = await import('amqplib');
  let connection: Awaited<ReturnType<typeof amqp.connect>> | undefined;
  try {
    connection = await amqp.connect(RABBITMQ_URL, { timeout: TIMEOUT_MS });
  } catch (error) {
    throw new Error(`RabbitMQ at ${redact(RABBITMQ_URL)} refused the connection: ${(error as Error).message}`);
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

function redact(url: string): string {
  const u = new URL(url);
  u.password = u.password ? '***' : '';
  return u.toString();
}

/**
 * A TCP proxy in front of a service, to show what a client does when the service goes away and comes
 * back: `cut()` drops every connection and refuses new ones (as a restarting server does), `restore()`
 * accepts again. `maxConnections` is the most connections that were open at once.
 */
export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  readonly connections: number;
  readonly maxConnections: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function createTcpProxy(serviceUrl: string): Promise<TcpProxy> {
  const upstream = new URL(serviceUrl);
  const upstreamPort = Number(upstream.port || 5432);
  const sockets = new Set<Socket>();
  let open = 0;
  let max = 0;
  let port = 0;
  let server: Server | undefined;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        open += 1;
        max = Math.max(max, open);
        const remote = connect({ host: upstream.hostname, port: upstreamPort });
        sockets.add(client).add(remote);
        let counted = true;
        const done = () => {
          if (counted) open -= 1;
          counted = false;
          client.destroy();
          remote.destroy();
          sockets.delete(client);
          sockets.delete(remote);
        };
        client.on('error', done).on('close', done);
        remote.on('error', done).on('close', done);
        client.pipe(remote).pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });
  const stop = async () => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await listen();
  const url = new URL(serviceUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    port,
    url: url.toString(),
    get connections() {
      return open;
    },
    get maxConnections() {
      return max;
    },
    cut: stop,
    restore: listen,
    close: stop,
  };
}
