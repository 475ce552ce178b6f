/**
 * Settling in batches: the answers of a cycle are written with the store's ackMany (a real SQLite file),
 * each delivered row with its receipt; a row whose lease another worker took over while it was in flight is
 * left to that worker, and the others are still acked. A store without ackMany gets one ack per row.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import type { SqliteStore } from '../../src/adapters/sqlite/index.ts';
import { createForwarder } from '../../src/forwarder/index.ts';
import type { DeliverySent, ForwarderStore } from '../../src/forwarder/index.ts';
import { chargeOutput, ingest, records, SOURCE, tempDir } from './support.ts';

const T0 = Date.parse('2026-11-25T10:00:00Z');
const dir = tempDir('bilhetagem-settle-');
let files = 0;
let store: SqliteStore;
/** Runs inside the target's handler before it answers, given the request's idempotency key. */
let beforeAnswer: (key: string) => Promise<void> = async () => {};
let url: string;
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    const key = String(req.headers['idempotency-key']);
    void beforeAnswer(key).then(() => {
      const charge = JSON.parse(body) as { record_id?: string };
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `ch_${charge.record_id ?? key}` }));
    });
  });
});

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/charges`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  dir.cleanup();
});
afterEach(async () => {
  vi.useRealTimers();
  beforeAnswer = async () => {};
  await store?.close();
});

/** The store with its settling calls counted. */
function counted(s: SqliteStore, withAckMany: boolean) {
  const calls = { ack: 0, ackMany: 0, ackManyEntries: 0 };
  const wrapped: ForwarderStore = {
    claim: (o) => s.claim(o),
    ack: (ref, receipt) => {
      calls.ack += 1;
      return s.ack(ref, receipt);
    },
    retryLater: (ref, report) => s.retryLater(ref, report),
    deadLetter: (ref, report) => s.deadLetter(ref, report),
    stats: (o) => s.stats(o),
    ...(withAckMany
      ? {
          ackMany: (acks) => {
            calls.ackMany += 1;
            calls.ackManyEntries += acks.length;
            return s.ackMany(acks);
          },
        }
      : {}),
  };
  return { wrapped, calls };
}

function forwarder(s: ForwarderStore, concurrency?: number) {
  const f = createForwarder({ store: s, targets: { billing: { preset: 'http', url, ...(concurrency === undefined ? {} : { concurrency }) } }, clock: () => T0, leaseMs: 60_000, statsIntervalMs: 0 });
  const sent: DeliverySent[] = [];
  f.events.on('delivery:sent', (e) => sent.push(e));
  return { f, sent };
}

async function fresh(): Promise<SqliteStore> {
  store = createSqliteStore({ filename: dir.file(`settle-${++files}.db`) });
  // `taken` is the oldest row, so another worker's claim of one row takes exactly it.
  await ingest(store, records(1, (id) => ({ billing: chargeOutput(id) }), { receivedAt: new Date(T0 - 1000) }).map((r) => ({ ...r, id: 'taken', outputs: { billing: chargeOutput('taken') } })));
  await ingest(store, records(3, (id) => ({ billing: chargeOutput(id) }), { receivedAt: new Date(T0) }));
  return store;
}

describe('forwarder: settling answers in batches', () => {
  it('acks the delivered rows with their receipts through ackMany, and leaves a row taken over mid-send to its new holder', async () => {
    const s = await fresh();
    const { wrapped, calls } = counted(s, true);
    let takeover: Awaited<ReturnType<SqliteStore['claim']>> = [];
    beforeAnswer = async (key) => {
      // Another worker claims the row after the first lease expired, while the target is answering it.
      if (key === `${SOURCE}:taken`) takeover = await s.claim({ target: 'billing', limit: 1, leaseMs: 60_000, worker: 'w2', now: new Date(T0 + 61_000) });
    };
    const { f, sent } = forwarder(wrapped);
    const summary = await f.runOnce();

    expect(takeover.map((r) => r.recordId)).toEqual(['taken']);
    expect(summary).toMatchObject({ claimed: 4, requests: 4, delivered: 3, leaseLost: 1, retried: 0, dead: 0 });
    expect(calls.ack).toBe(0);
    expect(calls.ackManyEntries).toBe(4);
    // Answers that came within the coalescing window share one ackMany call.
    expect(calls.ackMany).toBeLessThan(calls.ackManyEntries);
    expect(sent.map((e) => e.recordId).sort()).toEqual(['rec-0', 'rec-1', 'rec-2']);
    expect(sent.find((e) => e.recordId === 'rec-1')).toMatchObject({ target: 'billing', statusCode: 201, targetId: 'ch_rec-1', duplicate: false, at: new Date(T0) });
    for (const id of ['rec-0', 'rec-1', 'rec-2']) {
      const rec = await s.getRecord(SOURCE, id);
      expect(rec!.targets.billing).toMatchObject({ status: 'delivered', attempts: 1, deliveredAt: new Date(T0), receipt: { statusCode: 201, targetId: `ch_${id}` } });
      expect(rec!.deliveries).toMatchObject([{ outcome: 'delivered', statusCode: 201, targetId: `ch_${id}`, at: new Date(T0) }]);
    }
    const taken = await s.getRecord(SOURCE, 'taken');
    expect(taken!.targets.billing).toMatchObject({ status: 'pending', attempts: 0 });
    expect(taken!.deliveries).toEqual([]);
    // The new holder's lease still holds.
    await s.ack(takeover[0]!, { at: new Date(T0 + 62_000), statusCode: 200 });
    expect((await s.getRecord(SOURCE, 'taken'))!.deliveries).toMatchObject([{ outcome: 'delivered', worker: 'w2' }]);
  });

  it('falls back to one ack per row for a store without ackMany', async () => {
    const s = await fresh();
    const { wrapped, calls } = counted(s, false);
    const { f, sent } = forwarder(wrapped);
    const summary = await f.runOnce();
    expect(summary).toMatchObject({ claimed: 4, delivered: 4, leaseLost: 0 });
    expect(calls).toEqual({ ack: 4, ackMany: 0, ackManyEntries: 0 });
    expect(sent).toHaveLength(4);
    for (const id of ['taken', 'rec-0', 'rec-1', 'rec-2']) {
      expect((await s.getRecord(SOURCE, id))!.targets.billing).toMatchObject({ status: 'delivered', receipt: { statusCode: 201, targetId: `ch_${id}` } });
    }
  });

  it('holds a confirmed delivery for other answers while requests are out, and writes at once when none is left', async () => {
    // The coalescing window's timer never fires here: what is written comes from answers alone.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    store = createSqliteStore({ filename: dir.file(`settle-${++files}.db`) });
    await ingest(store, records(2, (id) => ({ billing: chargeOutput(id) }), { receivedAt: new Date(T0) }));
    const { wrapped, calls } = counted(store, true);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    beforeAnswer = async (key) => {
      if (key === `${SOURCE}:rec-1`) await held;
    };
    const { f, sent } = forwarder(wrapped, 2);
    const run = f.runOnce();
    // rec-0 answered, rec-1 still out.
    while (f.stats().targets.billing?.inFlightRequests !== 1) await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(calls.ackMany).toBe(0);
    expect(sent).toEqual([]);
    release();
    expect(await run).toMatchObject({ claimed: 2, delivered: 2 });
    // Both receipts in one call, made when the last answer came.
    expect(calls).toEqual({ ack: 0, ackMany: 1, ackManyEntries: 2 });
    expect(sent.map((e) => e.recordId).sort()).toEqual(['rec-0', 'rec-1']);
  });
});
