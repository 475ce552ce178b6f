/**
 * Dead letters and replays, through the library functions the CLI uses and through the admin HTTP routes.
 * A retry never deletes anything: the dead letter stays (marked retried) and the row waits in the outbox
 * until the target confirms.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/adapters/memory/index.ts';
import { adminRoutes, createForwarder, findDeadLetter, parseTimeRange, replayDelivered, resolveDeadLetters, showDeadLetter } from '../../src/forwarder/index.ts';
import type { Forwarder } from '../../src/forwarder/index.ts';
import type { MockBiller } from '../../src/mock-biller/index.ts';
import type { Store } from '../../src/ports/store.ts';
import { chargeOutput, ingest, lagoOutput, records, SOURCE, startBiller } from './support.ts';

let biller: MockBiller;
let url: string;
let store: Store;
let forwarder: Forwarder;
let now: number;
const T0 = Date.parse('2026-11-25T10:00:00Z');

beforeAll(async () => {
  ({ biller, url } = await startBiller({ apiKeys: { lago: 'lago_key' } }));
});
afterAll(() => biller.close());

/** Five records: billing rows die after one attempt (the biller fails), lago rows are delivered. */
beforeEach(async () => {
  now = T0;
  biller.reset();
  store = createMemoryStore();
  forwarder = createForwarder({
    store,
    targets: { billing: { preset: 'http', url: `${url}/v1/charges`, retry: { attempts: 1 } }, lago: { preset: 'lago', url, apiKey: 'lago_key' } },
    clock: () => now,
    statsIntervalMs: 0,
  });
  await ingest(store, records(5, (id) => ({ billing: chargeOutput(id), lago: lagoOutput(id) }), { receivedAt: new Date(T0) }));
  biller.setFaults({ failureRate: 1 });
  await forwarder.runOnce(); // billing: 5 dead (MAX_ATTEMPTS); lago: 5 retries
  biller.setFaults({});
  now += 3_600_000;
  await forwarder.runOnce(); // lago delivered
});

describe('dead letters (library)', () => {
  it('lists with filters and shows one with its row and every answer', async () => {
    const page = await store.listDeadLetters({ target: 'billing', code: 'MAX_ATTEMPTS' });
    expect(page.items).toHaveLength(5);
    expect((await store.listDeadLetters({ target: 'lago' })).items).toHaveLength(0);
    const range = parseTimeRange('2026-11-25T09:00:00Z', '2026-11-25T10:00:01Z');
    expect((await store.listDeadLetters({ ...range })).items).toHaveLength(5);
    expect((await store.listDeadLetters(parseTimeRange('2026-11-25T10:00:01Z', undefined))).items).toHaveLength(0);

    const id = page.items[0]!.id;
    const view = await showDeadLetter(store, id);
    expect(view.deadLetter).toMatchObject({ id, target: 'billing', code: 'MAX_ATTEMPTS', statusCode: 500, status: 'dead' });
    expect(view.deadLetter.reason).toMatch(/gave up after 1 attempts: HTTP 500/);
    expect(String(view.deadLetter.answer)).toContain('injected failure');
    expect(view.delivery).toMatchObject({ status: 'dead', target: 'billing', body: chargeOutput(view.deadLetter.recordId) });
    expect(view.attempts).toEqual([expect.objectContaining({ outcome: 'dead', statusCode: 500 })]);
    await expect(showDeadLetter(store, '999999')).rejects.toMatchObject({ code: 'BLH_ERR_STORE_NOT_FOUND' });
  });

  it('finds a dead letter by id whatever its status, by paging when the store has no direct lookup', async () => {
    const [a] = (await store.listDeadLetters({})).items;
    await store.discardDeadLetter(a!.id, { at: new Date(now) });
    expect(await findDeadLetter(store, a!.id)).toMatchObject({ id: a!.id, status: 'discarded' });
    expect(await findDeadLetter(store, 'nope')).toBeUndefined();
  });

  it('retry puts the row back without deleting anything; the target confirms on the next send', async () => {
    const ids = (await store.listDeadLetters({})).items.map((d) => d.id).slice(0, 2);
    const out = await resolveDeadLetters(store, 'retry', { ids }, { at: new Date(now), by: 'ana' });
    expect(out.resolved.map((d) => [d.status, d.resolvedBy])).toEqual([
      ['retried', 'ana'],
      ['retried', 'ana'],
    ]);
    expect(out.failed).toEqual([]);
    // Still there, marked retried; the row is pending, not delivered.
    expect((await store.listDeadLetters({ status: 'retried' })).items).toHaveLength(2);
    const rec = await store.getRecord(SOURCE, out.resolved[0]!.recordId);
    expect(rec!.targets.billing!.status).toBe('pending');
    // Five failures in a row opened billing's breaker: the first cycle sends one probe, the next the rest.
    expect(await forwarder.runOnce()).toMatchObject({ claimed: 1, delivered: 1 });
    expect(await forwarder.runOnce()).toMatchObject({ claimed: 1, delivered: 1 });
    expect((await store.getRecord(SOURCE, out.resolved[0]!.recordId))!.targets.billing!.status).toBe('delivered');
    // A second retry of the same dead letter is refused.
    const again = await resolveDeadLetters(store, 'retry', { ids: [ids[0]!] }, { at: new Date(now) });
    expect(again.failed).toEqual([expect.objectContaining({ id: ids[0], code: 'BLH_ERR_STORE_STATE' })]);
  });

  it('retries or discards every open dead letter matching a filter, and wants a filter or "all"', async () => {
    await expect(resolveDeadLetters(store, 'discard', { filter: {} }, { at: new Date(now) })).rejects.toMatchObject({ code: 'BLH_ERR_DLQ_SELECTION' });
    const out = await resolveDeadLetters(store, 'discard', { filter: { target: 'billing', code: 'MAX_ATTEMPTS' } }, { at: new Date(now) });
    expect(out.resolved).toHaveLength(5);
    expect((await store.stats({ now: new Date(now) })).deliveries).toMatchObject({ discarded: 5, dead: 0 });
    expect((await resolveDeadLetters(store, 'retry', { filter: {}, all: true }, { at: new Date(now) })).resolved).toHaveLength(0);
  });

  it('replay sends delivered rows again and the target recognises them by the idempotency key', async () => {
    const n = await replayDelivered(store, { from: new Date(T0), to: new Date(now + 1), target: 'lago' }, new Date(now));
    expect(n).toBe(5);
    const events: boolean[] = [];
    forwarder.events.on('delivery:sent', (e) => events.push(e.duplicate));
    await forwarder.runOnce();
    expect(events).toEqual([true, true, true, true, true]);
    expect(biller.received().endpoints.lago).toMatchObject({ distinct: 5, duplicates: 5 });
    const rec = await store.getRecord(SOURCE, 'rec-0');
    expect(rec!.targets.lago).toMatchObject({ status: 'delivered', replays: 1 });
    await expect(replayDelivered(store, { from: '2026-11-25T10:00:00Z', to: '2026-11-25T09:00:00Z' }, new Date(now))).rejects.toMatchObject({
      code: 'BLH_ERR_TIME_RANGE',
      statusCode: 400,
    });
    await expect(replayDelivered(store, { from: 'yesterday', to: '2026-11-25T09:00:00Z' }, new Date(now))).rejects.toMatchObject({ code: 'BLH_ERR_TIME_RANGE' });
  });
});

describe('dead letters and replay over the admin HTTP API', () => {
  async function app(authorize: Parameters<typeof adminRoutes>[1]['authorize'] = () => 'ana') {
    const a = Fastify();
    await a.register(adminRoutes, { store, authorize, clock: () => now });
    return a;
  }

  it('lists, shows, retries and discards, keeping the actor and an audit entry', async () => {
    const a = await app();
    const list = await a.inject({ method: 'GET', url: '/admin/dead-letters?target=billing&code=MAX_ATTEMPTS&limit=2' });
    expect(list.statusCode).toBe(200);
    const body = list.json() as { items: { id: string; at: string; status: string }[]; nextCursor: string | null };
    expect(body.items).toHaveLength(2);
    expect(body.items[0]).toMatchObject({ status: 'dead', at: '2026-11-25T10:00:00.000Z' });
    expect(body.nextCursor).toEqual(expect.any(String));
    const next = (await a.inject({ method: 'GET', url: `/admin/dead-letters?target=billing&limit=10&cursor=${body.nextCursor}` })).json() as { items: unknown[] };
    expect(next.items).toHaveLength(3);

    const id = body.items[0]!.id;
    const show = await a.inject({ method: 'GET', url: `/admin/dead-letters/${id}` });
    expect(show.statusCode).toBe(200);
    expect(show.json()).toMatchObject({ deadLetter: { id, code: 'MAX_ATTEMPTS' }, delivery: { status: 'dead' }, attempts: [{ outcome: 'dead', statusCode: 500 }] });

    const retry = await a.inject({ method: 'POST', url: `/admin/dead-letters/${id}/retry` });
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toMatchObject({ id, status: 'retried', resolvedBy: 'ana' });
    expect((await a.inject({ method: 'POST', url: `/admin/dead-letters/${id}/retry` })).json()).toMatchObject({ statusCode: 409, code: 'BLH_ERR_STORE_STATE' });
    expect((await a.inject({ method: 'POST', url: `/admin/dead-letters/${body.items[1]!.id}/discard` })).json()).toMatchObject({ status: 'discarded' });
    expect((await a.inject({ method: 'GET', url: '/admin/dead-letters/424242' })).statusCode).toBe(404);

    const bulk = await a.inject({ method: 'POST', url: '/admin/dead-letters/retry', payload: { target: 'billing' } });
    expect((bulk.json() as { resolved: unknown[] }).resolved).toHaveLength(3);
    expect((await a.inject({ method: 'POST', url: '/admin/dead-letters/discard', payload: {} })).json()).toMatchObject({ statusCode: 400, code: 'BLH_ERR_DLQ_SELECTION' });

    const audit = await store.listAudit({ actor: 'ana' });
    expect(audit.items.map((e) => e.action).sort()).toEqual(['dead-letter.discard', 'dead-letter.retry', 'dead-letter.retry']);
    await a.close();
  });

  it('replays a time range', async () => {
    const a = await app();
    const res = await a.inject({ method: 'POST', url: '/admin/replay', payload: { from: '2026-11-25T00:00:00Z', to: '2026-11-26T00:00:00Z', target: 'lago' } });
    expect(res.json()).toEqual({ requeued: 5 });
    expect((await a.inject({ method: 'POST', url: '/admin/replay', payload: { from: 'then', to: '2026-11-26T00:00:00Z' } })).json()).toMatchObject({
      statusCode: 400,
      code: 'BLH_ERR_TIME_RANGE',
    });
    expect((await a.inject({ method: 'POST', url: '/admin/replay', payload: { from: '2026-11-25T00:00:00Z' } })).statusCode).toBe(400);
    await a.close();
  });

  it('asks authorize first on every route, and validates queries', async () => {
    const asked: string[] = [];
    const a = await app((_req, action) => {
      asked.push(action);
      throw Object.assign(new Error('no'), { statusCode: 403 });
    });
    expect((await a.inject({ method: 'GET', url: '/admin/dead-letters' })).statusCode).toBe(403);
    expect((await a.inject({ method: 'POST', url: '/admin/dead-letters/1/retry' })).statusCode).toBe(403);
    expect((await a.inject({ method: 'POST', url: '/admin/replay', payload: { from: '2026-11-25T00:00:00Z', to: '2026-11-26T00:00:00Z' } })).statusCode).toBe(403);
    expect(asked).toEqual(['dead-letters:read', 'dead-letters:write', 'replay']);
    expect((await a.inject({ method: 'GET', url: '/admin/dead-letters?limit=5000' })).statusCode).toBe(400);
    expect((await a.inject({ method: 'GET', url: '/admin/dead-letters?status=gone' })).statusCode).toBe(400);
    await a.close();
  });
});
