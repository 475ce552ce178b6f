/**
 * The forwarding commands: `dlq list|show|retry|discard`, `replay`, `worker` and `mock-biller`, run through
 * commander against a real SQLite file, the way bin/bilhetagem runs them.
 */
import { writeFileSync } from 'node:fs';
import { PassThrough, Writable } from 'node:stream';
import { Command } from 'commander';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import * as dlq from '../../src/cli/commands/dlq.ts';
import { faultsOf, startMockBiller } from '../../src/cli/commands/mock-biller.ts';
import * as replay from '../../src/cli/commands/replay.ts';
import * as worker from '../../src/cli/commands/worker.ts';
import type { CliContext } from '../../src/cli/context.ts';
import { createForwarder } from '../../src/forwarder/index.ts';
import type { MockBiller } from '../../src/mock-biller/index.ts';
import { chargeOutput, ingest, lagoOutput, records, SOURCE, startBiller, tempDir, waitFor } from './support.ts';

const tmp = tempDir('bilhetagem-cli-');
const db = tmp.file('data/bilhetagem.db');
let biller: MockBiller;
let url: string;

function context(env: Record<string, string> = {}): { ctx: CliContext; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (f(c.toString()), cb()) });
  const ctx: CliContext = { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), stdin: new PassThrough(), env, cwd: tmp.dir, exitCode: 0 };
  return { ctx, out: () => out, err: () => err };
}

async function run(args: string[], env: Record<string, string> = {}) {
  const c = context(env);
  const program = new Command('bilhetagem').exitOverride();
  for (const m of [dlq, replay, worker]) m.register(program, c.ctx);
  for (const sub of program.commands) sub.exitOverride();
  await program.parseAsync(args, { from: 'user' });
  return { out: c.out(), err: c.err(), exitCode: c.ctx.exitCode };
}

beforeAll(async () => {
  ({ biller, url } = await startBiller({ apiKeys: { lago: 'lago_key' } }));
  const { mkdirSync } = await import('node:fs');
  mkdirSync(tmp.file('data'), { recursive: true });
  const store = createSqliteStore({ filename: db });
  await ingest(store, records(4, (id) => ({ billing: chargeOutput(id), lago: lagoOutput(id) })));
  // billing dies (the biller fails and the target allows one attempt); lago waits for the worker.
  const f = createForwarder({ store, targets: { billing: { preset: 'http', url: `${url}/v1/charges`, retry: { attempts: 1 } } }, statsIntervalMs: 0 });
  biller.setFaults({ failureRate: 1 });
  await f.runOnce();
  biller.setFaults({});
  await store.close();
  writeFileSync(
    tmp.file('bilhetagem.config.json'),
    JSON.stringify({ db: 'data/bilhetagem.db', targets: { billing: { preset: 'http', url: `${url}/v1/charges` }, lago: { preset: 'lago', url, apiKey: '${LAGO_API_KEY}' } } }),
  );
});

afterAll(async () => {
  await biller.close();
  tmp.cleanup();
});

describe('bilhetagem dlq', () => {
  it('list shows the dead letters with filters; json for programs', async () => {
    const text = await run(['dlq', 'list', '--target', 'billing']);
    expect(text.out).toMatch(/^id\s+at\s+target\s+code\s+status\s+record\s+reason/);
    expect(text.out.match(/MAX_ATTEMPTS/g)).toHaveLength(4);
    const json = JSON.parse((await run(['dlq', 'list', '--format', 'json', '--code', 'MAX_ATTEMPTS', '--limit', '2'])).out) as { items: unknown[]; nextCursor: string };
    expect(json.items).toHaveLength(2);
    const rest = JSON.parse((await run(['dlq', 'list', '--format', 'json', '--cursor', json.nextCursor])).out) as { items: unknown[] };
    expect(rest.items).toHaveLength(2);
    expect((await run(['dlq', 'list', '--target', 'lago'])).out).toBe('no dead dead letters matching the filters\n');
    await expect(run(['dlq', 'list', '--from', 'yesterday'])).rejects.toMatchObject({ code: 'BLH_ERR_TIME_RANGE' });
  });

  it('show prints why, the answer, the row and each attempt', async () => {
    const [first] = (JSON.parse((await run(['dlq', 'list', '--format', 'json'])).out) as { items: { id: string }[] }).items;
    const { out } = await run(['dlq', 'show', first!.id]);
    expect(out).toContain(`dead letter ${first!.id} (dead)`);
    expect(out).toMatch(/code\s+MAX_ATTEMPTS \(HTTP 500\)/);
    expect(out).toMatch(/reason\s+gave up after 1 attempts: HTTP 500/);
    expect(out).toContain('injected failure');
    expect(out).toMatch(/attempts:\n\s+at\s+outcome/);
    await expect(run(['dlq', 'show', '9999'])).rejects.toMatchObject({ code: 'BLH_ERR_STORE_NOT_FOUND' });
  });

  it('retry by id and discard by filter; a bulk action without a selection is refused', async () => {
    const items = (JSON.parse((await run(['dlq', 'list', '--format', 'json'])).out) as { items: { id: string }[] }).items;
    const r = await run(['dlq', 'retry', items[0]!.id, '--by', 'ana']);
    expect(r.out).toBe('retried 1 dead letter; their rows are back in the outbox\n');
    const again = await run(['dlq', 'retry', items[0]!.id]);
    expect(again.exitCode).toBe(1);
    expect(again.out).toContain('[BLH_ERR_STORE_STATE]');
    await expect(run(['dlq', 'discard'])).rejects.toMatchObject({ code: 'BLH_ERR_DLQ_SELECTION' });
    expect((await run(['dlq', 'discard', '--target', 'billing', '--code', 'MAX_ATTEMPTS'])).out).toBe('discarded 3 dead letters\n');
    expect((await run(['dlq', 'list', '--status', 'retried'])).out).toContain('ana');
    const store = createSqliteStore({ filename: db });
    expect((await store.listAudit({ actor: 'ana' })).items.map((a) => a.action)).toEqual(['dead-letter.retry']);
    await store.close();
  });
});

describe('bilhetagem worker and replay', () => {
  it('the worker delivers with targets from the config file and ${VAR} from the environment, and drains on stop', async () => {
    await expect(run(['worker'])).rejects.toMatchObject({ code: 'BLH_ERR_ENV_MISSING', details: { variable: 'LAGO_API_KEY' } });
    const c = context({ LAGO_API_KEY: 'lago_key' });
    const running = await worker.startWorker(
      c.ctx,
      { db: 'data/bilhetagem.db', store: undefined, queue: undefined, prefetch: 16, logLevel: 'info', leaseMs: 60_000, pollIntervalMs: 50, claimSize: 100, metricsPort: 0 },
      { billing: { preset: 'http', url: `${url}/v1/charges` }, lago: { preset: 'lago', url, apiKey: '${LAGO_API_KEY}' } },
    );
    try {
      // lago: 4 records; billing: the one dead letter retried above.
      await waitFor(() => {
        const t = running.forwarder.stats().targets;
        return t.lago!.counts.delivered === 4 && t.billing!.counts.delivered === 1;
      }, 10_000, 'the worker to deliver');
      expect(biller.received({ items: false }).endpoints.lago.distinct).toBe(4);
      const metrics = await request(`http://127.0.0.1:${running.metricsPort}/metrics`);
      const text = await metrics.body.text();
      expect(text).toContain('bilhetagem_deliveries_total{target="lago",outcome="delivered"} 4');
      expect(text).toContain('bilhetagem_outbox_pending{target="lago"}');
    } finally {
      await running.stop('test');
    }
    await running.closed;
    expect(c.out()).toContain('"event":"worker:started"');
    expect(c.out()).toContain('"event":"worker:stopped"');
  });

  it('replay queues delivered rows again; the next worker run is answered "already have it"', async () => {
    const { out } = await run(['replay', '--from', '2026-01-01T00:00:00Z', '--to', '2099-01-01T00:00:00Z', '--target', 'lago']);
    expect(out).toBe('4 deliveries queued again; a running forwarder (serve or worker) sends them\n');
    const store = createSqliteStore({ filename: db });
    const f = createForwarder({ store, targets: { lago: { preset: 'lago', url, apiKey: 'lago_key' } }, statsIntervalMs: 0 });
    expect(await f.runOnce()).toMatchObject({ duplicates: 4 });
    expect((await store.getRecord(SOURCE, 'rec-0'))!.targets.lago).toMatchObject({ status: 'delivered', replays: 1 });
    await store.close();
    await expect(run(['replay', '--from', '2026-01-02T00:00:00Z', '--to', '2026-01-01T00:00:00Z'])).rejects.toMatchObject({ code: 'BLH_ERR_TIME_RANGE' });
  });
});

describe('bilhetagem mock-biller', () => {
  it('serves the endpoints with the faults asked for', async () => {
    expect(faultsOf({ failureRate: 0.3, timeoutRate: 0.1, burst429: 5, retryAfter: 2 })).toEqual({ failureRate: 0.3, timeoutRate: 0.1, burst429: { count: 5, retryAfterS: 2 } });
    const c = context();
    const running = await startMockBiller(c.ctx, { port: 0, burst429: 1, apiKey: ['lago=k'] }, { signals: false });
    try {
      expect(c.err()).toContain(`mock biller listening on ${running.url}`);
      const first = await request(`${running.url}/v1/charges`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      expect(first.statusCode).toBe(429);
      await first.body.text();
      const lago = await request(`${running.url}/api/v1/events`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      expect(lago.statusCode).toBe(401);
      await lago.body.text();
    } finally {
      await running.stop();
    }
  });
});
