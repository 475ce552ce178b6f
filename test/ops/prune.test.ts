import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/adapters/memory/index.ts';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import type { SqliteStore } from '../../src/adapters/sqlite/index.ts';
import { createRetention, pruneStore, readArchiveDay, retentionCutoff, verifyArchive } from '../../src/ops/index.ts';
import type { RetentionStore, Store } from '../../src/ports/store.ts';
import { at, DAY, records, tempDir, T0, waitFor } from './support.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let n = 0;
const freshDir = () => tmp.file(`archive-${++n}`);

const opened: SqliteStore[] = [];
function sqlite(): SqliteStore {
  const store = createSqliteStore({ filename: tmp.file(`store-${++n}.db`) });
  opened.push(store);
  return store;
}
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

/** Acks every due row whose record id is in `ids` (all when omitted), at `when`. */
async function deliver(store: Store, when: Date, ids?: string[]) {
  for (const row of await store.claim({ target: 'billing', limit: 1000, leaseMs: 60_000, worker: 'w', now: when })) {
    if (!ids || ids.includes(row.recordId)) await store.ack(row, { at: when, statusCode: 201, targetId: `ch-${row.recordId}` });
    else await store.retryLater(row, { at: when, error: 'not now', nextAttemptAt: when, countAttempt: false });
  }
}

function lines(file: string): Record<string, unknown>[] {
  return gunzipSync(readFileSync(file)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * Day 1 (T0): rec-0..9 delivered, rec-10 pending, rec-11 dead; a rejection. Day 2: rec-20..24 delivered.
 * Day 100: rec-30..34 delivered (too young for a 90d cutoff at day 100).
 */
async function seed(store: Store & RetentionStore) {
  await store.ingest(records(12, { receivedAt: at(3_600_000) }));
  await deliver(store, at(7_200_000), Array.from({ length: 10 }, (_, i) => `rec-${i}`));
  const [dying] = (await store.claim({ target: 'billing', limit: 100, leaseMs: 1000, worker: 'w', now: at(7_300_000) })).filter((r) => r.recordId === 'rec-11');
  await store.deadLetter(dying, { at: at(7_300_000), reason: 'HTTP 400', code: 'HTTP_400', statusCode: 400 });
  await store.recordRejection({ source: 'urn:test:voice', id: 'bad-1', errors: [], rulesetVersion: 'v', receivedAt: at(3_000_000), payload: { id: 'bad-1' } });
  await store.ingest(records(5, { from: 20, receivedAt: at(DAY + 1000) }));
  await deliver(store, at(DAY + 2000), Array.from({ length: 5 }, (_, i) => `rec-${20 + i}`));
  await store.ingest(records(5, { from: 30, receivedAt: at(100 * DAY) }));
  await deliver(store, at(100 * DAY + 1000), Array.from({ length: 5 }, (_, i) => `rec-${30 + i}`));
}

describe('pruneStore', () => {
  it('archives each old day to its own file, then prunes it; never a pending or dead-lettered record', async () => {
    const store = sqlite();
    await seed(store);
    const dir = freshDir();
    const summary = await pruneStore({ store, archiveDir: dir, olderThan: '90d', now: at(100 * DAY + 5000) });
    expect(summary.cutoff).toEqual(at(10 * DAY));
    expect(summary.days.map((d) => [d.day, d.records, d.rejections, d.kept])).toEqual([
      ['2026-03-01', 10, 1, 0],
      ['2026-03-02', 5, 0, 0],
    ]);
    expect(summary.days[0]).toMatchObject({ outbox: 10, attempts: 10, deadLetters: 0, file: '2026-03-01.ndjson.gz' });
    expect(readdirSync(dir).sort()).toEqual(['2026-03-01.ndjson.gz', '2026-03-02.ndjson.gz', 'manifest.json']);

    const day1 = lines(join(dir, '2026-03-01.ndjson.gz'));
    expect(day1.filter((l) => l.kind === 'record').map((l) => l.id)).toEqual(Array.from({ length: 10 }, (_, i) => `rec-${i}`));
    expect(day1[0]).toMatchObject({
      kind: 'record',
      receivedAt: at(3_600_000).toISOString(),
      payload: { id: 'rec-0' },
      targets: { billing: { status: 'delivered', receipt: { statusCode: 201, targetId: 'ch-rec-0' } } },
      deliveries: [{ outcome: 'delivered', statusCode: 201 }],
    });
    expect(day1.find((l) => l.kind === 'rejection')).toMatchObject({ id: 'bad-1', payload: { id: 'bad-1' } });
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.files['2026-03-01.ndjson.gz']).toMatchObject({ day: '2026-03-01', records: 10, rejections: 1, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });

    expect(await store.getRecord('urn:test:voice', 'rec-0')).toBeUndefined();
    expect((await store.getRecord('urn:test:voice', 'rec-10'))!.targets.billing.status).toBe('pending');
    expect((await store.getRecord('urn:test:voice', 'rec-11'))!.targets.billing.status).toBe('dead');
    expect(await store.getRecord('urn:test:voice', 'rec-30')).toBeDefined();
    expect((await store.listDeadLetters()).items).toHaveLength(1);
    expect((await verifyArchive(dir)).ok).toBe(true);
  });

  it('prunes a large day in transactions of at most transactionSize, rejections included', async () => {
    const store = createMemoryStore();
    await seed(store);
    const calls: number[] = [];
    const counting = Object.create(store) as typeof store;
    counting.prune = (request) => {
      calls.push((request.records?.length ?? 0) + (request.rejections?.length ?? 0));
      return store.prune(request);
    };
    const summary = await pruneStore({ store: counting, archiveDir: freshDir(), olderThan: '90d', now: at(100 * DAY), transactionSize: 4 });
    expect(calls).toEqual([4, 4, 3, 4, 1]); // day 1: 10 records + 1 rejection; day 2: 5 records
    expect(summary).toMatchObject({ records: 15, rejections: 1, kept: 0 });
    expect(summary.days[0]).toMatchObject({ records: 10, rejections: 1, outbox: 10, attempts: 10 });
  });

  it('counts without writing or removing anything on a dry run', async () => {
    const store = createMemoryStore();
    await seed(store);
    const dir = freshDir();
    const summary = await pruneStore({ store, archiveDir: dir, olderThan: '90d', now: at(100 * DAY), dryRun: true });
    expect(summary).toMatchObject({ dryRun: true, records: 15, rejections: 1 });
    expect(existsSync(dir)).toBe(false);
    expect((await store.stats({ now: T0 })).records.accepted).toBe(22);
  });

  it('adds a record delivered later to its day file, and never repeats one archived by a run that died before pruning', async () => {
    const store = sqlite();
    await seed(store);
    const dir = freshDir();
    // A run that archives and then dies before its prune commits.
    const dying = Object.create(store) as SqliteStore;
    dying.prune = async () => {
      throw new Error('killed');
    };
    await expect(pruneStore({ store: dying, archiveDir: dir, olderThan: '90d', now: at(100 * DAY) })).rejects.toThrow('killed');
    expect(lines(join(dir, '2026-03-01.ndjson.gz'))).toHaveLength(11);
    expect(existsSync(join(dir, '.lock'))).toBe(false);

    // rec-10 is delivered late (on day 5), but long before the cutoff.
    const late = (await store.claim({ target: 'billing', limit: 100, leaseMs: 1000, worker: 'w', now: at(100 * DAY + 2000) })).find((r) => r.recordId === 'rec-10')!;
    await store.ack(late, { at: at(5 * DAY), statusCode: 201 });
    await pruneStore({ store, archiveDir: dir, olderThan: '90d', now: at(100 * DAY) });
    const day1 = lines(join(dir, '2026-03-01.ndjson.gz'));
    const ids = day1.map((l) => l.id);
    expect(ids).toHaveLength(12);
    expect(new Set(ids).size).toBe(12);
    expect(ids).toContain('rec-10');
    const report = await verifyArchive(dir);
    expect(report).toMatchObject({ ok: true, records: 16, rejections: 1 });
    expect(await store.getRecord('urn:test:voice', 'rec-10')).toBeUndefined();
  });

  it('prunes nothing of a day whose archive cannot be written', async () => {
    const store = sqlite();
    await seed(store);
    const dir = freshDir();
    mkdirSync(dir);
    mkdirSync(join(dir, '2026-03-01.ndjson.gz')); // a folder where the file must go
    await expect(pruneStore({ store, archiveDir: dir, olderThan: '90d', now: at(100 * DAY) })).rejects.toMatchObject({ code: 'BLH_ERR_ARCHIVE_WRITE' });
    expect(await store.getRecord('urn:test:voice', 'rec-0')).toBeDefined();
    expect(readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('refuses to run while another run holds the archive folder', async () => {
    const store = createMemoryStore();
    await seed(store);
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(join(dir, '.lock'), String(process.pid));
    await expect(pruneStore({ store, archiveDir: dir, olderThan: '90d', now: at(100 * DAY) })).rejects.toMatchObject({ code: 'BLH_ERR_ARCHIVE_WRITE', message: expect.stringContaining('Another process') });
    writeFileSync(join(dir, '.lock'), '999999999'); // a process that is gone
    await expect(pruneStore({ store, archiveDir: dir, olderThan: '90d', now: at(100 * DAY) })).resolves.toMatchObject({ records: 15 });
  });

  it('aligns the cutoff to the start of a UTC day and refuses ages it cannot read', () => {
    expect(retentionCutoff(new Date('2026-06-10T15:30:00Z'), '90d')).toEqual(new Date('2026-03-12T00:00:00Z'));
    expect(retentionCutoff(new Date('2026-06-10T15:30:00Z'), '12h')).toEqual(new Date('2026-06-10T00:00:00Z'));
    expect(() => retentionCutoff(T0, '90 days')).toThrow(expect.objectContaining({ code: 'BLH_ERR_OPTIONS', message: expect.stringContaining('90d') }));
    expect(() => retentionCutoff(T0, '0d')).toThrow(expect.objectContaining({ code: 'BLH_ERR_OPTIONS' }));
  });
});

describe('verifyArchive', () => {
  async function archived(): Promise<string> {
    const store = createMemoryStore();
    await seed(store);
    const dir = freshDir();
    await pruneStore({ store, archiveDir: dir, olderThan: '90d', now: at(100 * DAY) });
    return dir;
  }

  it('recomputes checksums and counts and reads every line', async () => {
    const dir = await archived();
    expect(await verifyArchive(dir)).toMatchObject({
      ok: true,
      problems: [],
      records: 15,
      rejections: 1,
      files: [
        { name: '2026-03-01.ndjson.gz', ok: true, records: 10, rejections: 1 },
        { name: '2026-03-02.ndjson.gz', ok: true, records: 5, rejections: 0 },
      ],
    });
    const day = [];
    for await (const line of readArchiveDay(dir, '2026-03-02')) day.push(line);
    expect(day.map((l) => l.id)).toEqual(['rec-20', 'rec-21', 'rec-22', 'rec-23', 'rec-24']);
  });

  it('finds a changed file, a missing one, a stray one and a line that is not JSON', async () => {
    const dir = await archived();
    appendFileSync(join(dir, '2026-03-02.ndjson.gz'), gzipSync('{"kind":"record","id":"forged"}\nnot json\n'));
    writeFileSync(join(dir, '2026-04-01.ndjson.gz'), gzipSync('{}\n'));
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    manifest.files['2026-03-03.ndjson.gz'] = { ...manifest.files['2026-03-02.ndjson.gz'], day: '2026-03-03' };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const report = await verifyArchive(dir);
    expect(report.ok).toBe(false);
    const byName = Object.fromEntries(report.files.map((f) => [f.name, f]));
    expect(byName['2026-03-01.ndjson.gz'].ok).toBe(true);
    expect(byName['2026-03-02.ndjson.gz'].problems).toEqual([
      expect.stringContaining('sha256 is'),
      expect.stringContaining('bytes, the manifest says'),
      'line 7 is not JSON',
      '6 records, the manifest says 5',
    ]);
    expect(byName['2026-03-03.ndjson.gz'].problems).toEqual(['the file is missing']);
    expect(report.problems).toEqual(['2026-04-01.ndjson.gz is not in the manifest']);
    expect((await verifyArchive(tmp.file('nowhere'))).ok).toBe(false);
  });
});

describe('createRetention', () => {
  it('runs on a schedule, reports each run, and stops cleanly', async () => {
    const store = createMemoryStore();
    await seed(store);
    const dir = freshDir();
    let now = at(100 * DAY);
    const retention = createRetention({ store, archiveDir: dir, olderThan: '90d', intervalMs: 20, clock: () => now.getTime() });
    const runs: number[] = [];
    retention.events.on('retention:pruned', (s) => runs.push(s.records));
    retention.start();
    await waitFor(() => runs.length >= 1, 10_000, 'the first run');
    now = at(200 * DAY);
    await waitFor(() => runs.reduce((a, b) => a + b, 0) === 20, 10_000, 'the day-100 records to go');
    await retention.stop();
    await retention.stop();
    expect(runs[0]).toBe(15);
    expect(runs).toContain(5); // the day-100 records, once they are old enough
    expect(runs.reduce((a, b) => a + b, 0)).toBe(20);
    expect(retention.stats()).toMatchObject({ failures: 0, records: 20, rejections: 1 });
    const count = runs.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(runs.length).toBe(count);
  });

  it('reports a failed run and keeps going', async () => {
    const store = createMemoryStore();
    await seed(store);
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(join(dir, '.lock'), String(process.pid));
    const errors: string[] = [];
    const retention = createRetention({ store, archiveDir: dir, olderThan: '90d', clock: () => at(100 * DAY).getTime() });
    retention.events.on('retention:failed', (e) => errors.push(e.message));
    await expect(retention.runOnce()).rejects.toMatchObject({ code: 'BLH_ERR_ARCHIVE_WRITE' });
    expect(errors).toHaveLength(1);
    expect(retention.stats()).toMatchObject({ failures: 1, lastError: expect.stringContaining('Another process') });
  });

  it('refuses options it does not know or cannot use', () => {
    const store = createMemoryStore();
    expect(() => createRetention({ store, archiveDir: 'a', olderThan: '90d', every: 1 } as never)).toThrow(expect.objectContaining({ code: 'BLH_ERR_OPTIONS', details: { option: 'every' } }));
    expect(() => createRetention({ store, archiveDir: 'a', olderThan: 'forever' })).toThrow(expect.objectContaining({ code: 'BLH_ERR_OPTIONS' }));
    expect(() => createRetention({ store: {} as never, archiveDir: 'a', olderThan: '90d' })).toThrow(expect.objectContaining({ details: { option: 'store' } }));
  });
});
