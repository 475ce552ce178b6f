/**
 * The delivery promise under abuse: the mock biller fails 30% of requests, times out 10%, throws 429 bursts,
 * and the forwarder process is killed with SIGKILL several times mid-run over one SQLite file. A last worker
 * then drains the outbox cleanly. Every accepted record must reach the biller exactly once in effect: the
 * biller holds as many distinct records as were accepted — each under its own key and with its own body, so
 * its dedupe never merged two records — and it saw a duplicate only for a record sent again.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import { SETTLE_COALESCE_MS } from '../../src/forwarder/target-runner.ts';
import type { MockBiller } from '../../src/mock-biller/index.ts';
import type { Faults } from '../../src/mock-biller/index.ts';
import { repoRoot } from './helpers.ts';
import { chargeOutput, ingest, lagoOutput, records, SOURCE, startBiller, tempDir } from './support.ts';

const N = 1000;
const KILLS = 4;
const FAULTS: Faults = { failureRate: 0.3, timeoutRate: 0.1, burst429: { count: 25, retryAfterS: 1 }, latencyMs: 5 };

const tmp = tempDir();
const db = tmp.file('outbox.db');
let biller: MockBiller;
let url: string;
let bursts: NodeJS.Timeout;

beforeAll(async () => {
  ({ biller, url } = await startBiller({ faults: FAULTS, apiKeys: { lago: 'lago_key' } }));
  // A fresh burst of 25 429s after every 300 requests, on top of the random failures and timeouts. (Bursts on
  // a timer would answer nothing but 429 once the breaker slows the traffic down, and nothing would drain.)
  let lastBurstAt = 0;
  bursts = setInterval(() => {
    const r = biller.received({ items: false }).endpoints;
    const requests = r.charges.requests + r.lago.requests;
    if (requests - lastBurstAt >= 300) {
      lastBurstAt = requests;
      biller.setFaults(FAULTS);
    }
  }, 50);
  const store = createSqliteStore({ filename: db });
  await ingest(store, records(N, (id) => ({ billing: chargeOutput(id), lago: lagoOutput(id) })));
  await store.close();
});

afterAll(async () => {
  clearInterval(bursts);
  await biller.close();
  tmp.cleanup();
});

interface Run {
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  ready: Promise<void>;
  kill(): void;
}

function worker(mode: 'run' | 'drain'): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/forwarder/fixtures/worker-entry.ts'), db, url, mode], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let onReady: () => void;
  let onFail: (e: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    onFail = reject;
  });
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    if (stdout.includes('ready\n')) onReady();
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => {
      onFail(new Error(`worker exited (${code ?? signal}) before it was ready: ${stderr}`));
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return { exit, ready, kill: () => child.kill('SIGKILL') };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('forwarding through failures, timeouts, 429 bursts and SIGKILL', () => {
  it('delivers every accepted record once in effect', { timeout: 120_000 }, async () => {
    const progress: number[] = [];
    for (let i = 0; i < KILLS; i++) {
      const w = worker('run');
      await w.ready;
      await sleep(700 + i * 200);
      w.kill();
      const { signal } = await w.exit;
      expect(signal).toBe('SIGKILL');
      const r = biller.received({ items: false }).endpoints;
      progress.push(r.charges.distinct + r.lago.distinct);
    }
    // The kills happened mid-run: some records had arrived, not all.
    expect(progress[0]).toBeGreaterThan(0);
    expect(progress.at(-1)).toBeLessThan(2 * N);
    console.log(`records at the biller after each kill: ${progress.join(', ')} of ${2 * N}`);

    const last = worker('drain');
    const done = await last.exit;
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);

    const store = createSqliteStore({ filename: db });
    try {
      const stats = await store.stats({ now: new Date() });
      expect(stats.deliveries).toEqual({ pending: 0, delivered: 2 * N, dead: 0, discarded: 0 });

      const received = biller.received();
      const charges = received.endpoints.charges;
      const lago = received.endpoints.lago;
      // Every accepted record reached the biller, each under its own key: distinct == accepted.
      expect(charges.distinct).toBe(N);
      expect(lago.distinct).toBe(N);
      const expected = new Set(Array.from({ length: N }, (_, i) => `${SOURCE}:rec-${i}`));
      expect(new Set(charges.items.map((c) => (c as { idempotency_key: string }).idempotency_key))).toEqual(expected);
      expect(new Set(lago.items.map((e) => (e as { transaction_id: string }).transaction_id))).toEqual(expected);
      // Each stored item is the record's own body (no record was taken for another).
      for (const item of charges.items as { record_id: string }[]) expect(item).toEqual(chargeOutput(item.record_id));

      // Duplicates are only resends: every one logged by a worker is a row that had been sent before, and the
      // rest are answers lost with a killed worker — at most what it had in flight or answered but not yet
      // settled: settling waits up to SETTLE_COALESCE_MS to share a transaction, and a connection answers at
      // most one request per FAULTS.latencyMs, so per kill at most `concurrency × (1 + SETTLE_COALESCE_MS /
      // latencyMs)` requests' items.
      const isDuplicate = (d: { outcome: string; answer: unknown }) => d.outcome === 'delivered' && (d.answer as { duplicate?: boolean } | null)?.duplicate === true;
      let logged = 0;
      let loggedLago = 0;
      let resentRows = 0;
      for (let i = 0; i < N; i++) {
        const rec = await store.getRecord(SOURCE, `rec-${i}`);
        const attempts = rec!.deliveries.filter((d) => d.target === 'billing');
        const dup = attempts.filter(isDuplicate);
        logged += dup.length;
        loggedLago += rec!.deliveries.filter((d) => d.target === 'lago' && isDuplicate(d)).length;
        if (attempts.length > 1 || dup.length > 0) resentRows += 1;
        expect(rec!.targets.billing!.receipt!.statusCode === 201 || rec!.targets.billing!.receipt!.statusCode === 409).toBe(true);
      }
      expect(charges.duplicates).toBeGreaterThanOrEqual(logged);
      // Lago: a batch stored by a killed worker comes back whole; each event of it is one duplicate.
      expect(lago.duplicates).toBeGreaterThanOrEqual(loggedLago);
      const lost = (concurrency: number, batch: number) => KILLS * concurrency * batch * (1 + SETTLE_COALESCE_MS / FAULTS.latencyMs!);
      expect(lago.duplicates - loggedLago).toBeLessThanOrEqual(lost(2, 25));
      expect(charges.duplicates - logged).toBeLessThanOrEqual(lost(8, 1));
      expect(charges.duplicates).toBeLessThanOrEqual(resentRows + lost(8, 1));
      // The faults really happened.
      expect(received.faults.failure).toBeGreaterThan(100);
      expect(received.faults.timeout).toBeGreaterThan(30);
      expect(received.faults.burst429).toBeGreaterThan(25);
      console.log(
        `crash test: ${N} records x 2 targets, ${KILLS} kills, biller requests ${charges.requests + lago.requests}, faults ${JSON.stringify(received.faults)}, duplicates charges=${charges.duplicates} (logged ${logged}) lago=${lago.duplicates} (logged ${loggedLago})`,
      );
    } finally {
      await store.close();
    }
  });
});
