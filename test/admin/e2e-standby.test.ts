/**
 * The overview in a real browser when another process delivers a target of this SQLite file: the server's
 * forwarder stands by, and the Targets table says so ("standby", with who holds the target) until this
 * process takes the target over.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import { createForwarder } from '../../src/forwarder/index.ts';
import { createMockBiller } from '../../src/mock-biller/index.ts';
import { waitFor } from '../forwarder/support.ts';
import { launch, login, requireChromium } from './browser.ts';
import { panelServer, voiceRecord } from './support.ts';

const chromium = requireChromium();

describe.skipIf(!chromium.available)('admin panel in chromium: a target another process delivers', { timeout: 60_000 }, () => {
  it('shows "standby" with the holder, and drops it once this process delivers the target', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-admin-standby-'));
    const filename = join(dir, 'bilhetagem.db');
    const biller = createMockBiller();
    const { url: billerUrl } = await biller.listen(0, '127.0.0.1');
    const other = createSqliteStore({ filename });
    const mine = createSqliteStore({ filename });
    const forwarder = createForwarder({ store: mine, targets: { default: { preset: 'http', url: `${billerUrl}/v1/charges` } }, pollIntervalMs: 50, statsIntervalMs: 0 });
    const server = await panelServer({ store: mine, forwarder, server: { pipeline: { targets: ['default'] } } });
    const browser = await launch();
    try {
      await server.app.listen({ port: 0, host: '127.0.0.1' });
      const address = server.app.server.address();
      const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      const res = await server.send([voiceRecord('held-1', Date.now()), voiceRecord('held-2', Date.now())]);
      expect(res.statusCode).toBeLessThan(300);
      // Another process (another store on the file) delivers `default`: it holds the target's lock.
      expect(await other.claim({ target: 'default', limit: 1, leaseMs: 60_000, worker: 'elsewhere', now: new Date() })).toHaveLength(1);
      await forwarder.start();
      await waitFor(() => forwarder.stats().targets.default!.standby !== undefined, 5000, 'the forwarder standing by');

      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await login(page, url, 'viewer');
      const badge = page.locator('tr[data-target="default"] .b-standby');
      await badge.waitFor({ timeout: 15_000 });
      expect(await badge.textContent()).toBe('standby');
      expect(await badge.getAttribute('title')).toMatch(/^another process delivers this target: .+:\d+:[0-9a-f]{8}, its lock runs until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      expect(await page.textContent('tr[data-target="default"] .b-breaker-closed')).toBe('closed');

      // The other process lets the target go: this one delivers the free row, and the overview (refreshing
      // itself) drops the badge.
      await other.releaseTarget!('default');
      await waitFor(() => forwarder.stats().targets.default!.counts.delivered === 1, 5000, 'the free row delivered here');
      await badge.waitFor({ state: 'detached', timeout: 15_000 });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      await forwarder.stop();
      await server.close();
      await other.close();
      await biller.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
