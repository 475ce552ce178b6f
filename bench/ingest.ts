/**
 * Ingest over HTTP, end to end: a load generator (undici, on loopback, in this process) against servers
 * started in child processes, so the generator never shares the server's event loop.
 *
 *   node --import tsx bench/ingest.ts [--seconds 3] [--rounds 3] [--targets default,lago] [--only b]   or `npm run bench -- ingest`
 *
 * (a) Fastify hello-world POST (parses the same JSON body, answers {"ok":true}): the ceiling;
 * (b) our POST /v1/records, one record per request, durable (SQLite file, synchronous=FULL, group commit);
 * (c) our POST /v1/records, 100 records per request.
 * Reports requests/s, records/s, p50/p99 latency, the server's peak RSS, and ratios against (a) measured
 * in the same run. Targets: (b) >= 0.4x (a) in requests/s; (c) >= 1.0x (a)'s requests/s in records/s.
 * Our server maps each record to one target (mappings/default) unless --targets names more: one outbox row
 * per record and target. BENCH_CHILD_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the servers.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { voiceCall } from './util.ts';

const SELF = fileURLToPath(import.meta.url);
const ROOT = join(SELF, '..', '..');

interface ChildReady {
  port: number;
  key?: string;
}

/* ------------------------------------------------------------------ child side */

async function runChild(kind: 'hello' | 'ours', dbFile: string | undefined, targets = 'default'): Promise<void> {
  const send = (m: unknown) => process.send!(m);
  let ready: ChildReady;
  if (kind === 'hello') {
    const { default: Fastify } = await import('fastify');
    const app = Fastify({ logger: false });
    app.post('/', async () => ({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    ready = { port: (app.server.address() as { port: number }).port };
  } else {
    const { createSqliteStore } = await import('../src/adapters/sqlite/index.ts');
    const { buildServer } = await import('../src/server/index.ts');
    const { createLogger } = await import('../src/server/logger.ts');
    const { issueApiKey } = await import('../src/auth/index.ts');
    const store = createSqliteStore({ filename: dbFile!, synchronous: 'FULL' });
    const { key } = await issueApiKey(store, { name: 'bench', sources: ['voice-platform'] });
    const app = await buildServer({
      store,
      rules: join(ROOT, 'rules'),
      mappings: join(ROOT, 'mappings'),
      rateLimit: false,
      // One billing target, as a deployment with one forwarder target has: one outbox row per record.
      pipeline: { targets: targets.split(',') },
      logger: createLogger({ level: 'warn' }) as never,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    ready = { port: (app.server.address() as { port: number }).port, key };
  }
  process.on('message', (m) => {
    if (m === 'rss') send({ maxRssKb: process.resourceUsage().maxRSS });
    if (m === 'cpu') {
      const u = process.cpuUsage();
      send({ cpuUs: u.user + u.system });
    }
  });
  process.on('disconnect', () => process.exit(0));
  // An orderly exit on kill(), so a profile asked for with BENCH_CHILD_ARGS is written.
  process.on('SIGTERM', () => process.exit(0));
  send(ready);
}

/* ------------------------------------------------------------------ load generator */

function startChild(kind: 'hello' | 'ours', dbFile?: string, targets?: string): Promise<{ child: ChildProcess; ready: ChildReady }> {
  const child = fork(SELF, ['--child', kind, ...(dbFile ? [dbFile, targets ?? 'default'] : [])], {
    execArgv: ['--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, ...(process.env.BENCH_CHILD_ARGS?.split(' ').filter(Boolean) ?? [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (ready) => resolve({ child, ready: ready as ChildReady }));
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

function askCpu(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve((m as { cpuUs: number }).cpuUs));
    child.send('cpu');
  });
}

function askRss(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve((m as { maxRssKb: number }).maxRssKb * 1024));
    child.send('rss');
  });
}

let nextId = 0;
function record() {
  return voiceCall(`bench-${process.pid}-${++nextId}`);
}

interface LoadResult {
  requests: number;
  records: number;
  seconds: number;
  latencies: number[];
  failures: number;
  /** Server CPU time (user + system) per request, µs: what the server spends, whatever else runs on the machine. */
  cpuPerRequestUs: number;
}

async function load(child: ChildProcess, origin: string, path: string, headers: Record<string, string>, body: () => string, perRequest: number, connections: number, seconds: number, warmup: number): Promise<LoadResult> {
  const pool = new Pool(origin, { connections, pipelining: 1 });
  const latencies: number[] = [];
  let requests = 0;
  let failures = 0;
  const start = performance.now();
  const measureFrom = start + warmup * 1000;
  const end = measureFrom + seconds * 1000;
  let cpuFrom: Promise<number> | undefined;
  const worker = async () => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= end) return;
      const res = await pool.request({ path, method: 'POST', headers, body: body() });
      await res.body.dump();
      const t1 = performance.now();
      if (res.statusCode >= 300) failures += 1;
      if (t0 >= measureFrom) {
        cpuFrom ??= askCpu(child);
        requests += 1;
        latencies.push(t1 - t0);
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const cpu = (await askCpu(child)) - (await cpuFrom!);
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { requests, records: requests * perRequest, seconds, latencies, failures, cpuPerRequestUs: cpu / requests };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Case {
  name: string;
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: () => string;
  perRequest: number;
  connections: number;
  child: ChildProcess;
  runs: LoadResult[];
}

/**
 * Both servers stay up and the cases take turns (a, b, c, a, b, c, ...): a machine whose speed drifts
 * during the run (other work, thermal limits) then shifts every case alike, and the medians are compared.
 */
export async function benchIngest(options: { seconds?: number; rounds?: number; warmup?: number; targets?: string; only?: string } = {}): Promise<void> {
  const seconds = options.seconds ?? 3;
  const rounds = options.rounds ?? 3;
  const warmup = options.warmup ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-bench-ingest-'));
  const children: ChildProcess[] = [];
  try {
    const hello = await startChild('hello');
    children.push(hello.child);
    const ours = await startChild('ours', join(dir, 'bench.db'), options.targets);
    children.push(ours.child);
    const helloOrigin = `http://127.0.0.1:${hello.ready.port}`;
    const origin = `http://127.0.0.1:${ours.ready.port}`;
    const json = { 'content-type': 'application/json' };
    const keyed = { ...json, 'x-api-key': ours.ready.key! };
    const single = () => JSON.stringify(record());
    const batch = () => JSON.stringify(Array.from({ length: 100 }, record));
    const cases: Case[] = [
      { name: '(a) Fastify hello-world POST', origin: helloOrigin, path: '/', headers: json, body: single, perRequest: 1, connections: 64, child: hello.child, runs: [] },
      { name: '(b) POST /v1/records, 1 record', origin, path: '/v1/records', headers: keyed, body: single, perRequest: 1, connections: 64, child: ours.child, runs: [] },
      { name: '(c) POST /v1/records, 100 records', origin, path: '/v1/records', headers: keyed, body: batch, perRequest: 100, connections: 16, child: ours.child, runs: [] },
    ];
    // --only b: load one case alone (with BENCH_CHILD_ARGS, a profile of just that case); ratios need all three.
    const only = options.only;
    for (let round = 0; round < rounds; round++) {
      for (const c of cases) if (!only || c.name.startsWith(`(${only})`)) c.runs.push(await load(c.child, c.origin, c.path, c.headers, c.body, c.perRequest, c.connections, seconds, round === 0 ? warmup : 0.2));
    }
    const rss = new Map<ChildProcess, number>();
    for (const child of children) rss.set(child, await askRss(child));
    if (only) {
      for (const c of cases) if (c.runs.length) console.log(`${c.name}: ${Math.round(median(c.runs.map((r) => r.requests / r.seconds)))} req/s, server CPU ${Math.round(median(c.runs.map((r) => r.cpuPerRequestUs)))} µs/req`);
    } else report(cases, rss, seconds, rounds, options.targets ?? 'default');
  } finally {
    for (const child of children) child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(cases: Case[], rss: Map<ChildProcess, number>, seconds: number, rounds: number, targets: string): void {
  const rate = (c: Case, what: 'requests' | 'records') => median(c.runs.map((r) => r[what] / r.seconds));
  const latency = (c: Case, p: number) => median(c.runs.map((r) => pct(r.latencies, p)));
  const base = rate(cases[0], 'requests');
  console.log(`\n## HTTP ingest (node ${process.version}; SQLite synchronous=FULL, a file in ${tmpdir()}; outbox targets: ${targets}; load over loopback from this process; medians of ${rounds} rounds of ${seconds}s)`);
  const w = Math.max(...cases.map((c) => c.name.length));
  for (const c of cases) {
    const failures = c.runs.reduce((n, r) => n + r.failures, 0);
    console.log(
      `  ${c.name.padEnd(w)}  ${Math.round(rate(c, 'requests')).toLocaleString('en-US').padStart(8)} req/s  ${Math.round(rate(c, 'records')).toLocaleString('en-US').padStart(9)} records/s` +
        `  p50 ${latency(c, 50).toFixed(2)} ms  p99 ${latency(c, 99).toFixed(2)} ms  server CPU ${Math.round(median(c.runs.map((r) => r.cpuPerRequestUs)))} µs/req  peak RSS ${Math.round((rss.get(c.child) ?? 0) / 2 ** 20)} MiB` +
        `${failures ? `  (${failures} non-2xx answers)` : ''}`,
    );
  }
  console.log(`  (b) requests/s / (a) requests/s:  ${(rate(cases[1], 'requests') / base).toFixed(2)}x  (target >= 0.40x)`);
  console.log(`  (c) records/s  / (a) requests/s:  ${(rate(cases[2], 'records') / base).toFixed(2)}x  (target >= 1.00x)`);
}

const childAt = process.argv.indexOf('--child');
if (childAt > 0) {
  await runChild(process.argv[childAt + 1] as 'hello' | 'ours', process.argv[childAt + 2], process.argv[childAt + 3]);
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const t = process.argv.indexOf('--targets');
  const o = process.argv.indexOf('--only');
  await benchIngest({ seconds: arg('seconds'), rounds: arg('rounds'), targets: t > 0 ? process.argv[t + 1] : undefined, only: o > 0 ? process.argv[o + 1] : undefined });
}
