/**
 * Two forwarders on one SQLite file (two stores, as two processes would have): one delivers the target, the
 * other says it stands by and shows it in its stats, then takes the target over when the first stops and
 * closes its store — or when the first stops and its store stays open (a library's process keeps it for
 * other work). Every record reaches the biller once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import type { SqliteStore } from '../../src/adapters/sqlite/index.ts';
import { createForwarder } from '../../src/forwarder/index.ts';
import type { Forwarder, Logger } from '../../src/forwarder/index.ts';
import type { MockBiller } from '../../src/mock-biller/index.ts';
import { chargeOutput, ingest, records, startBiller, waitFor } from './support.ts';

const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-standby-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(): { logger: Logger; lines: { msg: string; obj: Record<string, unknown> }[] } {
  const lines: { msg: string; obj: Record<string, unknown> }[] = [];
  const log = (obj: object, msg?: string) => void lines.push({ msg: msg ?? '', obj: obj as Record<string, unknown> });
  return { logger: { debug: () => {}, info: log, warn: log, error: log }, lines };
}

/**
 * Two stores on one new file holding `n` records for `billing`; the first store's forwarder delivering them
 * (to a biller answering in 10 ms), the second's started and standing by. `run` gets them; everything closes after.
 */
async function twoOnOneFile(name: string, n: number, run: (h: { biller: MockBiller; a: SqliteStore; first: Forwarder; second: Forwarder; logs: ReturnType<typeof capture>['lines'] }) => Promise<void>): Promise<void> {
  const { biller, url } = await startBiller({ faults: { latencyMs: 10 } });
  const filename = join(dir, name);
  const a = createSqliteStore({ filename });
  const b = createSqliteStore({ filename });
  try {
    await ingest(a, records(n, (id) => ({ billing: chargeOutput(id) })));
    const targets = { billing: { preset: 'http' as const, url: `${url}/v1/charges`, concurrency: 2 } };
    // The default lease: the first store's lock lasts 90 s after its last claim unless it lets go.
    const first = createForwarder({ store: a, targets, pollIntervalMs: 20, statsIntervalMs: 0, worker: 'first' });
    await first.start();
    await waitFor(() => biller.received().endpoints.charges.distinct > 0, 5000, 'the first forwarder delivering');
    const { logger, lines } = capture();
    const second = createForwarder({ store: b, targets, pollIntervalMs: 20, statsIntervalMs: 0, worker: 'second', logger });
    await second.start();
    await waitFor(() => second.stats().targets.billing!.standby !== undefined, 5000, 'the second forwarder standing by');
    await run({ biller, a, first, second, logs: lines });
    await first.stop();
    await second.stop();
  } finally {
    await b.close();
    await a.close();
    await biller.close();
  }
}

describe('a second forwarder on one SQLite file', () => {
  it('stands by, says so, and takes the target over when the first stops', () =>
    twoOnOneFile('db.sqlite', 200, async ({ biller, a, first, second, logs }) => {
      const standing = logs.filter((l) => l.msg === 'another process delivers this target; standing by');
      expect(standing).toHaveLength(1);
      expect(standing[0]!.obj).toMatchObject({ target: 'billing', holder: expect.stringMatching(/^.+:\d+:[0-9a-f]{8}$/) });
      expect(second.stats().targets.billing!.counts.delivered).toBe(0);

      await first.stop();
      await a.close();
      await waitFor(() => second.stats().targets.billing!.counts.delivered + first.stats().targets.billing!.counts.delivered >= 200, 10_000, 'every record delivered');
      expect(second.stats().targets.billing!.counts.delivered).toBeGreaterThan(0);
      expect(second.stats().targets.billing!.standby).toBeUndefined();
      expect(logs.some((l) => l.msg.startsWith('delivering this target'))).toBe(true);
      await second.stop();
      expect(biller.received().endpoints.charges).toMatchObject({ distinct: 200, duplicates: 0 });
    }));

  it('takes the target over as soon as the first forwarder stops, its store still open', () =>
    twoOnOneFile('open.sqlite', 100, async ({ biller, a, first, second }) => {
      await first.stop();
      const byFirst = first.stats().targets.billing!.counts.delivered;
      expect(byFirst).toBeLessThan(100);
      await waitFor(() => second.stats().targets.billing!.counts.delivered >= 100 - byFirst, 10_000, 'the second forwarder delivering the rest');
      expect(second.stats().targets.billing!.standby).toBeUndefined();
      // The first store, still open, is told the second holds the target; once the second stops, nobody does.
      expect(await a.heldElsewhere!('billing', new Date())).toMatchObject({ holder: expect.stringMatching(/:\d+:[0-9a-f]{8}$/) });
      await second.stop();
      expect(await a.heldElsewhere!('billing', new Date())).toBeUndefined();
      expect(biller.received().endpoints.charges).toMatchObject({ distinct: 100, duplicates: 0 });
    }));

  it('says it delivers the target once the first stops, with nothing left to send', () =>
    twoOnOneFile('drained.sqlite', 20, async ({ biller, first, second, logs }) => {
      await waitFor(() => biller.received().endpoints.charges.distinct === 20, 10_000, 'every record delivered by the first');
      await first.stop();
      await waitFor(() => logs.some((l) => l.msg.startsWith('delivering this target')), 5000, 'the second saying it delivers the target');
      expect(logs.find((l) => l.msg.startsWith('delivering this target'))!.obj).toMatchObject({ target: 'billing', after: expect.stringMatching(/:\d+:[0-9a-f]{8}$/) });
      expect(second.stats().targets.billing!.standby).toBeUndefined();
      expect(second.stats().targets.billing!.counts.delivered).toBe(0);
    }));
});
