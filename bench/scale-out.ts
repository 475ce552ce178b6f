/**
 * Scale-out: HTTP ingest through real `bilhetagem serve` processes, on SQLite and on PostgreSQL, on the
 * same machine in the same run, so the cost of a network engine — and what a second ingest process buys
 * back — is visible:
 *
 *   node --import tsx bench/scale-out.ts [--seconds 3] [--rounds 3]    or `npm run bench -- scale-out`
 *   (BILHETAGEM_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test;
 *    BILHETAGEM_BENCH_RABBITMQ_URL, default amqp://guest:guest@127.0.0.1:5672, for case (d))
 *
 * (a) 1 × serve --db <file>                          (SQLite, synchronous=FULL: the default, the baseline)
 * (b) 1 × serve --store postgres://...
 * (c) 2 × serve --store postgres://... (one schema), the load spread over both
 * (d) as (c) with --queue amqp://...: each server also runs the relay, and 2 × `worker --queue` deliver to a
 *     mock biller — the whole many-process pipeline. Run after the others (its workers keep delivering
 *     after each run); besides its ingest rate it reports the end-to-end rate: every record it ingested,
 *     until the last one was confirmed by the biller.
 *
 * Each record is one voice call with one outbox row (a mappings folder with only `default`). The load is
 * 100-record requests over 16 keep-alive connections from this process, spread round-robin over the
 * case's servers. Cases (a)-(c) take turns (a, b, c, a, b, c, ...) and medians are compared, so a machine whose
 * speed drifts shifts every case alike. On a small machine the load generator, the servers and PostgreSQL
 * share the cores: read the ratios, not the absolute numbers.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { voiceCall } from './util.ts';

const SELF = fileURLToPath(import.meta.url);
const ROOT = join(SELF, '..', '..');
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const POSTGRES_URL = process.env.BILHETAGEM_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RABBITMQ_URL = process.env.BILHETAGEM_BENCH_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

interface Proc {
  child: ChildProcess;
  port: number;
}

function spawnCli(script: string, args: string[], cwd: string, readyEvent: string): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', TSX, script, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } });
  let errors = '';
  child.stderr!.on('data', (c: Buffer) => (errors += c.toString()));
  return new Promise((resolve, reject) => {
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (!line.includes(`"event":"${readyEvent}"`)) continue;
        resolve({ child, port: Number((JSON.parse(line) as { port?: number }).port ?? 0) });
      }
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code} before it was ready: ${errors.slice(-2000)}`)));
  });
}

const serve = (args: string[], cwd: string) => spawnCli(join(ROOT, 'src/cli/main.ts'), ['serve', ...args], cwd, 'server:listening');
const worker = (args: string[], cwd: string) => spawnCli(join(ROOT, 'src/cli/main.ts'), ['worker', ...args], cwd, 'worker:started');

let nextId = 0;
const runId = randomBytes(3).toString('hex');
function record() {
  return voiceCall(`scale-${runId}-${++nextId}`);
}

interface Run {
  records: number;
  seconds: number;
  latencies: number[];
  failures: number;
}

async function load(ports: number[], key: string, connections: number, seconds: number, warmup: number): Promise<Run> {
  const pools = ports.map((p) => new Pool(`http://127.0.0.1:${p}`, { connections: Math.ceil(connections / ports.length), pipelining: 1 }));
  const latencies: number[] = [];
  let records = 0;
  let failures = 0;
  const measureFrom = performance.now() + warmup * 1000;
  const end = measureFrom + seconds * 1000;
  const headers = { 'content-type': 'application/json', 'x-api-key': key };
  const loop = async (i: number) => {
    const pool = pools[i % pools.length]!;
    for (;;) {
      const t0 = performance.now();
      if (t0 >= end) return;
      const res = await pool.request({ path: '/v1/records', method: 'POST', headers, body: JSON.stringify(Array.from({ length: 100 }, record)) });
      await res.body.dump();
      if (res.statusCode !== 202) failures += 1;
      if (t0 >= measureFrom) {
        records += 100;
        latencies.push(performance.now() - t0);
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, (_, i) => loop(i)));
  await Promise.all(pools.map((p) => p.close()));
  latencies.sort((a, b) => a - b);
  return { records, seconds, latencies, failures };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

interface Case {
  name: string;
  ports: number[];
  key: string;
  runs: Run[];
}

/** Case (d) end to end: every record ingested in its runs, until the last one was confirmed by the biller. */
interface Pipeline {
  records: number;
  seconds: number;
  drainSeconds: number;
}

async function reachable(what: 'pg' | 'amqp'): Promise<string | undefined> {
  try {
    if (what === 'pg') {
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
      await c.connect();
      await c.end();
    } else {
      const amqp = await import('amqplib');
      const c = await amqp.connect(RABBITMQ_URL, { timeout: 3000 });
      await c.close();
    }
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export async function benchScaleOut(options: { seconds?: number; rounds?: number; warmup?: number } = {}): Promise<void> {
  const seconds = options.seconds ?? 3;
  const rounds = options.rounds ?? 3;
  const warmup = options.warmup ?? 1;
  const noPg = await reachable('pg');
  if (noPg) {
    console.log(`\n## Scale-out: skipped — no PostgreSQL at ${POSTGRES_URL} (${noPg}); set BILHETAGEM_BENCH_POSTGRES_URL`);
    return;
  }
  const noMq = await reachable('amqp');
  const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-bench-scale-'));
  const procs: ChildProcess[] = [];
  const schemas: string[] = [];
  const { createSqliteStore } = await import('../src/adapters/sqlite/index.ts');
  const { createPostgresStore } = await import('../src/adapters/postgres/index.ts');
  const { issueApiKey } = await import('../src/auth/index.ts');
  const { createMockBiller } = await import('../src/mock-biller/index.ts');
  const biller = createMockBiller({ keepItems: false });
  try {
    // One outbox row per record: a mappings folder holding only `default` (no targets configured, no forwarder).
    const mappings = join(dir, 'mappings');
    mkdirSync(mappings);
    cpSync(join(ROOT, 'mappings/default'), join(mappings, 'default'), { recursive: true });
    const base = ['--port', '0', '--host', '127.0.0.1', '--rules', join(ROOT, 'rules'), '--mappings', mappings, '--no-watch', '--rate-limit', '0', '--log-level', 'warn', '--max-batch', '1000'];

    const sqliteFile = join(dir, 'bench.db');
    const sqlite = createSqliteStore({ filename: sqliteFile });
    const sqliteKey = (await issueApiKey(sqlite, { name: 'bench', sources: ['voice-platform'] })).key;
    await sqlite.close();

    async function pgSchema(): Promise<{ url: string; key: string; store: Awaited<ReturnType<typeof createPostgresStore>> }> {
      const schema = `bench_${randomBytes(4).toString('hex')}`;
      schemas.push(schema);
      const store = await createPostgresStore({ connectionString: POSTGRES_URL, schema, pool: { max: 2 } });
      const key = (await issueApiKey(store, { name: 'bench', sources: ['voice-platform'] })).key;
      return { url: `${POSTGRES_URL}${POSTGRES_URL.includes('?') ? '&' : '?'}schema=${schema}`, key, store };
    }
    const start = async (args: string[]) => {
      const p = await serve([...base, ...args], dir);
      procs.push(p.child);
      return p.port;
    };

    const cases: Case[] = [{ name: '(a) SQLite, 1 process', ports: [await start(['--db', sqliteFile])], key: sqliteKey, runs: [] }];
    const one = await pgSchema();
    cases.push({ name: '(b) PostgreSQL, 1 process', ports: [await start(['--store', one.url])], key: one.key, runs: [] });
    await one.store.close();
    const two = await pgSchema();
    cases.push({ name: '(c) PostgreSQL, 2 processes', ports: [await start(['--store', two.url]), await start(['--store', two.url])], key: two.key, runs: [] });
    await two.store.close();
    for (let round = 0; round < rounds; round++) {
      for (const c of cases) c.runs.push(await load(c.ports, c.key, 16, seconds, round === 0 ? warmup : 0.2));
    }

    // (d) alone, after the others are gone: its workers keep delivering after each run, which would slow
    // whatever case came next.
    let pipeline: Pipeline | undefined;
    if (!noMq) {
      for (const child of procs.splice(0)) child.kill('SIGKILL');
      const { url: billerUrl } = await biller.listen(0, '127.0.0.1');
      const config = join(dir, 'bilhetagem.config.json');
      writeFileSync(config, JSON.stringify({ targets: { default: { preset: 'http', url: `${billerUrl}/v1/charges`, timeoutMs: 5000 } } }));
      const q = await pgSchema();
      await purge(RABBITMQ_URL);
      const queued = ['--store', q.url, '--queue', RABBITMQ_URL, '--config', config, '--handover-ms', '60000'];
      const ports = [await start(queued), await start(queued)];
      let workers = 0;
      for (let i = 0; i < 2; i++) {
        const w = await worker(['--store', q.url, '--queue', RABBITMQ_URL, '--config', config, '--prefetch', '100', '--log-level', 'info'], dir).catch((error: Error) => {
          console.log(`\n  (d) skipped: \`bilhetagem worker --queue\` did not start (${error.message.split('\n')[0]})`);
          return undefined;
        });
        if (!w) break;
        procs.push(w.child);
        workers += 1;
      }
      if (workers === 2) {
        const d: Case = { name: '(d) PostgreSQL, 2 processes + RabbitMQ, 2 workers', ports, key: q.key, runs: [] };
        const began = performance.now();
        for (let round = 0; round < rounds; round++) d.runs.push(await load(d.ports, d.key, 16, seconds, round === 0 ? warmup : 0.2));
        const ingested = (await q.store.stats({ now: new Date() })).records.accepted;
        const sentAt = performance.now();
        for (;;) {
          const s = await q.store.stats({ now: new Date() });
          if (s.deliveries.delivered >= ingested || performance.now() - sentAt > 300_000) {
            pipeline = { records: s.deliveries.delivered, seconds: (performance.now() - began) / 1000, drainSeconds: (performance.now() - sentAt) / 1000 };
            break;
          }
          await new Promise((r) => setTimeout(r, 250));
        }
        cases.push(d);
      }
      await q.store.close();
    }
    report(cases, seconds, rounds, noMq, pipeline);
  } finally {
    for (const child of procs) child.kill('SIGKILL');
    await biller.close();
    if (schemas.length) {
      const pg = (await import('pg')).default;
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      await admin.end();
    }
    if (!noMq) await purge(RABBITMQ_URL).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Case (d) uses the CLI's default queue names: start and end with them gone. */
async function purge(url: string): Promise<void> {
  const amqp = await import('amqplib');
  const c = await amqp.connect(url);
  const ch = await c.createChannel();
  ch.on('error', () => undefined);
  await ch.deleteQueue('bilhetagem.default').catch(() => undefined);
  await ch.deleteQueue('bilhetagem.default.dead').catch(() => undefined);
  await c.close().catch(() => undefined);
}

function report(cases: Case[], seconds: number, rounds: number, noMq: string | undefined, pipeline: Pipeline | undefined): void {
  const rate = (c: Case) => median(c.runs.map((r) => r.records / r.seconds));
  const base = rate(cases[0]!);
  const pg1 = cases[1] ? rate(cases[1]) : NaN;
  console.log(
    `\n## Scale-out ingest (node ${process.version}, ${cpus().length} cores shared by the load generator, the servers and PostgreSQL; 100-record requests, 16 connections; medians of ${rounds} rounds of ${seconds}s)`,
  );
  const w = Math.max(...cases.map((c) => c.name.length));
  for (const c of cases) {
    const failures = c.runs.reduce((n, r) => n + r.failures, 0);
    console.log(
      `  ${c.name.padEnd(w)}  ${Math.round(rate(c)).toLocaleString('en-US').padStart(8)} records/s  ${(rate(c) / base).toFixed(2)}x SQLite  ${(rate(c) / pg1).toFixed(2)}x PostgreSQL-1` +
        `  p50 ${median(c.runs.map((r) => pct(r.latencies, 50))).toFixed(1)} ms  p99 ${median(c.runs.map((r) => pct(r.latencies, 99))).toFixed(1)} ms${failures ? `  (${failures} non-202 answers)` : ''}`,
    );
  }
  if (noMq) console.log(`  (d) skipped: no RabbitMQ at ${RABBITMQ_URL} (${noMq})`);
  if (pipeline) {
    console.log(
      `  (d) end to end: ${pipeline.records.toLocaleString('en-US')} records ingested and delivered to the mock biller in ${pipeline.seconds.toFixed(1)} s` +
        ` = ${Math.round(pipeline.records / pipeline.seconds).toLocaleString('en-US')} delivered/s (the backlog drained ${pipeline.drainSeconds.toFixed(1)} s after the last request)`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  await benchScaleOut({ seconds: arg('seconds'), rounds: arg('rounds') });
}
