/**
 * Many processes on one PostgreSQL and one RabbitMQ, as docs/guides/scaling-out.md describes them:
 * 3 × `bilhetagem serve --store postgres://... --queue amqp://...` and 3 × `bilhetagem worker --store ...
 * --queue ...` on loopback, a mock biller, and a sender that spreads records over the servers (retrying a
 * failed request on another server, as a load balancer would) and sends some records again to a
 * different server. Mid-run: one server and one worker die by SIGKILL, RabbitMQ restarts, PostgreSQL goes
 * away for a while. Then every accepted record must be delivered to both targets exactly once in effect,
 * every duplicate recognised, nothing lost, nothing dead.
 *
 * The processes reach PostgreSQL (and RabbitMQ) through TCP proxies in this process, so "PostgreSQL goes
 * away" is a cut every connection sees without stopping the shared server. RabbitMQ is restarted for real
 * (rabbitmqctl stop_app / start_app) when rabbitmqctl works here, else cut at its proxy. Skipped with the
 * reason printed when either service is missing; failed instead when BILHETAGEM_REQUIRE_SERVICES=1.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/adapters/postgres/index.ts';
import type { PostgresStore } from '../../src/adapters/postgres/index.ts';
import { issueApiKey } from '../../src/auth/issue-key.ts';
import { startBiller } from '../forwarder/support.ts';
import { deletePrefix, lockBroker, sleep, waitFor } from '../queue/support.ts';
import { createTcpProxy, POSTGRES_URL, RABBITMQ_URL, requireService } from '../support/services.ts';
import type { TcpProxy } from '../support/services.ts';
import { MAPPINGS_DIR, RULES_DIR } from '../support/ruleset.ts';
import { startServer, startWorker, stopProc } from './support/processes.ts';
import type { Proc } from './support/processes.ts';

const postgres = await requireService('postgres');
const rabbitmq = await requireService('rabbitmq');
const live = postgres.available && rabbitmq.available;
const run = promisify(execFile);

/** Can this test restart the real broker? (Needs rabbitmqctl and the rights to use it.) */
async function canRestartRabbitmq(): Promise<boolean> {
  if (process.env.BILHETAGEM_TEST_RABBITMQ_RESTART === '0') return false;
  try {
    await run('rabbitmqctl', ['status'], { timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

async function restartRabbitmq(): Promise<void> {
  await run('rabbitmqctl', ['stop_app'], { timeout: 60_000 });
  await sleep(1500);
  await run('rabbitmqctl', ['start_app'], { timeout: 60_000 });
  await run('rabbitmqctl', ['await_startup'], { timeout: 60_000 });
}

const TARGETS = ['default', 'lago'];
const RECORDS = 2400;
const BATCH = 40;
const DUPLICATE_EVERY = 6; // every 6th request also re-sends 4 earlier records to another server

describe.skipIf(!live)('many processes on PostgreSQL and RabbitMQ', () => {
  let unlock: () => void = () => undefined;
  const procs: Proc[] = [];
  let dir = '';
  let schema = '';
  let store: PostgresStore | undefined;
  let pgProxy: TcpProxy | undefined;
  let mqProxy: TcpProxy | undefined;

  beforeAll(async () => {
    unlock = await lockBroker();
    await deletePrefix('bilhetagem', TARGETS); // the CLI's default names: start from empty queues
  }, 600_000);

  afterAll(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await pgProxy?.close();
    await mqProxy?.close();
    await store?.close();
    if (schema) {
      const pg = (await import('pg')).default;
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
    await deletePrefix('bilhetagem', TARGETS).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
    unlock();
  }, 120_000);

  it('3 servers and 3 workers: SIGKILL one of each, restart RabbitMQ, cut PostgreSQL — every accepted record delivered once in effect', async () => {
    const realRestart = await canRestartRabbitmq();
    dir = mkdtempSync(join(tmpdir(), 'bilhetagem-scale-'));
    schema = `scale_${randomBytes(5).toString('hex')}`;
    const { biller, url: billerUrl } = await startBiller({ keepItems: false });
    biller.setFaults({ latencyMs: 2 });
    const fast = { timeoutMs: 2000, retry: { baseDelayMs: 50, maxDelayMs: 500 }, breaker: { failureThreshold: 1000, minRequests: 100_000 } };
    const config = join(dir, 'bilhetagem.config.json');
    writeFileSync(config, JSON.stringify({ targets: { default: { preset: 'http', url: `${billerUrl}/v1/charges`, ...fast }, lago: { preset: 'lago', url: billerUrl, apiKey: 'demo', ...fast } } }));

    // The schema and an API key first (as an operator would with one process), then the fleet.
    store = await createPostgresStore({ connectionString: POSTGRES_URL, schema, pool: { max: 3 } });
    const { key } = await issueApiKey(store, { name: 'scale-test', sources: ['voice-platform'] });
    pgProxy = await createTcpProxy(POSTGRES_URL);
    mqProxy = await createTcpProxy(RABBITMQ_URL);
    const storeUrl = `${pgProxy.url}?schema=${schema}`;
    const common = ['--store', storeUrl, '--queue', mqProxy.url, '--config', config];
    const serverArgs = [...common, '--port', '0', '--host', '127.0.0.1', '--rules', RULES_DIR, '--mappings', MAPPINGS_DIR, '--no-watch', '--rate-limit', '0', '--log-level', 'warn', '--handover-ms', '8000'];
    const servers = await Promise.all([1, 2, 3].map((i) => startServer(`server-${i}`, serverArgs, dir)));
    procs.push(...servers);
    const workers = await Promise.all([1, 2, 3].map((i) => startWorker(`worker-${i}`, [...common, '--prefetch', '20', '--log-level', 'info'], dir)));
    procs.push(...workers);

    /* ------------------------------------------------------------ the sender */
    const agent = new Agent({ connections: 4, keepAliveTimeout: 1000 });
    const alive = new Set(servers);
    const now = Date.now();
    const record = (i: number) => ({
      specversion: '1.0',
      id: `scale-${schema}-${i}`,
      source: 'voice-platform',
      type: 'voice.call.completed',
      time: new Date(now - 120_000).toISOString(),
      subject: 'acme',
      data: { duration_s: 30 + (i % 600), from: '+5511987654321', to: '+5521912345678', direction: 'outbound', region: 'br-sp' },
    });
    const statusOf = new Map<string, string>();
    const servedBy = new Map<number, Proc>();
    let failedRequests = 0;
    let duplicateSends = 0;
    let duplicatesRecognised = 0;
    let rr = 0;

    /** Sends one batch to some live server; a request that fails goes to another, as a load balancer would retry it. */
    async function send(items: number[], avoid?: Proc): Promise<{ server: Proc; results: { id: string; status: string }[] }> {
      for (let attempt = 0; ; attempt++) {
        const candidates = [...alive].filter((s) => s !== avoid);
        const server = candidates[rr++ % candidates.length]!;
        try {
          const res = await request(`http://127.0.0.1:${server.port}/v1/records`, {
            method: 'POST',
            dispatcher: agent,
            headers: { 'content-type': 'application/json', 'x-api-key': key },
            body: JSON.stringify(items.map(record)),
            headersTimeout: 20_000,
            bodyTimeout: 20_000,
          });
          const body = (await res.body.json()) as { results?: { id: string; status: string }[] };
          if (res.statusCode === 202 || res.statusCode === 200) return { server, results: body.results! };
          failedRequests += 1; // 503 while PostgreSQL is away
        } catch {
          failedRequests += 1; // the server was killed under the request
        }
        if (attempt > 400) throw new Error(`batch ${items[0]} could not be sent`);
        await sleep(Math.min(500, 50 * (attempt + 1)));
      }
    }

    const batches = Array.from({ length: RECORDS / BATCH }, (_, b) => Array.from({ length: BATCH }, (_, i) => b * BATCH + i));
    let next = 0;
    let done = 0;
    const sender = async () => {
      while (next < batches.length) {
        const b = next++;
        const { server, results } = await send(batches[b]!);
        for (const r of results) statusOf.set(r.id, r.status);
        servedBy.set(b, server);
        if (b > 0 && b % DUPLICATE_EVERY === 0 && servedBy.has(b - 3)) {
          // Records sent earlier, again, to a different server than the one that took them.
          const earlier = b - 3;
          const again = batches[earlier]!.slice(0, 4);
          const first = servedBy.get(earlier)!;
          duplicateSends += again.length;
          const { server: second, results: dupResults } = await send(again, first);
          expect(second).not.toBe(first);
          duplicatesRecognised += dupResults.filter((r) => r.status === 'duplicate').length;
        }
        done += 1;
        await sleep(350); // a steady stream over ~15 s rather than one burst, so every fault lands mid-run
      }
    };

    // The faults, each once the sending has got so far, one after the other.
    const events: string[] = [];
    const after = (batchesDone: number) => waitFor(() => done >= batchesDone, 120_000, `${batchesDone} batches sent`);
    const chaos = async () => {
      await after(10);
      events.push(`SIGKILL server-2 and worker-1 after ${done} batches`);
      alive.delete(servers[1]!);
      servers[1]!.child.kill('SIGKILL');
      workers[0]!.child.kill('SIGKILL');
      await after(18);
      events.push(`${realRestart ? 'rabbitmqctl stop_app / start_app' : 'RabbitMQ cut at its proxy for 2.5 s'} after ${done} batches`);
      if (realRestart) await restartRabbitmq();
      else await mqProxy!.cut().then(() => sleep(2500)).then(() => mqProxy!.restore());
      await after(36);
      events.push(`PostgreSQL cut at its proxy for 2.5 s after ${done} batches`);
      await pgProxy!.cut();
      await sleep(2500);
      await pgProxy!.restore();
      events.push(`PostgreSQL back after ${done} batches`);
    };
    await Promise.all([sender(), sender(), chaos()]);
    await agent.close();

    /* ------------------------------------------------------------ what must hold */
    const ids = batches.flat().map((i) => record(i).id);
    const notStored = ids.filter((id) => statusOf.get(id) !== 'accepted' && statusOf.get(id) !== 'duplicate');
    expect(notStored).toEqual([]);
    expect(duplicatesRecognised).toBe(duplicateSends);
    expect(done).toBeLessThan(batches.length + 1);
    expect(failedRequests).toBeGreaterThan(0); // the kill and the PostgreSQL cut hit requests in flight; they were sent again

    const expected = RECORDS * TARGETS.length;
    try {
      await waitFor(
        async () => {
          const s = await store!.stats({ now: new Date() });
          return s.deliveries.delivered + s.deliveries.dead >= expected;
        },
        180_000,
        `${expected} deliveries`,
      );
    } catch (error) {
      const s = await store!.stats({ now: new Date() });
      throw new Error(`${(error as Error).message}; store: ${JSON.stringify(s.deliveries)}; events: ${events.join(', ')}\n${procs.map((p) => `--- ${p.name}\n${p.tail()}`).join('\n')}`);
    }
    const stats = await store.stats({ now: new Date() });
    expect(stats.records.accepted).toBe(RECORDS);
    expect(stats.deliveries).toMatchObject({ pending: 0, delivered: expected, dead: 0 });
    const received = biller.received({ items: false }).endpoints;
    expect(received.charges.distinct).toBe(RECORDS);
    expect(received.lago.distinct).toBe(RECORDS);

    // The killed processes died by SIGKILL; every other one is still up and drains cleanly on SIGTERM.
    expect((await servers[1]!.exited).signal).toBe('SIGKILL');
    expect((await workers[0]!.exited).signal).toBe('SIGKILL');
    const survivors = [servers[0]!, servers[2]!, workers[1]!, workers[2]!];
    const exits = await Promise.all(survivors.map((p) => stopProc(p)));
    expect(exits.map((e) => e.code)).toEqual([0, 0, 0, 0]);
    const reconnected = [workers[1]!, workers[2]!].filter((w) => w.events().some((e) => e.msg === 'queue: reconnected to RabbitMQ'));
    expect(reconnected).toHaveLength(2);
    await biller.close();
    console.log(
      `scale test: ${RECORDS} records, ${duplicateSends} duplicate sends (all recognised), ${failedRequests} failed requests retried elsewhere; ` +
        `biller saw ${received.charges.requests + received.lago.requests} requests (${received.charges.duplicates + received.lago.duplicates} "already have it"); ${events.join('; ')}`,
    );
  }, 480_000);
});
