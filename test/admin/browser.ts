/**
 * What the browser tests need: Debian's chromium driven by playwright-core (never a downloaded browser),
 * and a real server — SQLite file in a temp folder, the panel, a forwarder sending to a mock biller on
 * loopback — listening on 127.0.0.1.
 *
 * Without /usr/bin/chromium the browser tests are skipped with the reason printed; in CI
 * (BILHETAGEM_REQUIRE_SERVICES=1) that is a failed test instead, as in test/support/services.ts.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import { createForwarder } from '../../src/forwarder/index.ts';
import type { Forwarder } from '../../src/forwarder/index.ts';
import { createMockBiller } from '../../src/mock-biller/index.ts';
import type { MockBiller } from '../../src/mock-biller/index.ts';
import { panelServer, PASSWORD, voiceRecord } from './support.ts';
import type { PanelServer } from './support.ts';

export const CHROMIUM = process.env.BILHETAGEM_CHROMIUM ?? '/usr/bin/chromium';
export const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Call at the top level of a test file; prints why browser tests are skipped, or fails them in CI. */
export function requireChromium(): { available: boolean; reason?: string } {
  if (existsSync(CHROMIUM)) return { available: true };
  const reason = `${CHROMIUM} is missing (install Debian's chromium: apt-get install -y chromium)`;
  if (process.env.BILHETAGEM_REQUIRE_SERVICES === '1') {
    it('Chromium is available (BILHETAGEM_REQUIRE_SERVICES=1)', () => {
      throw new Error(`Chromium is required but unavailable: ${reason}`);
    });
  } else {
    console.warn(`skipping the admin panel browser tests: ${reason}`);
  }
  return { available: false, reason };
}

export async function launch(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
}

export interface LiveServer extends PanelServer {
  url: string;
  biller: MockBiller;
  billerUrl: string;
  forwarder: Forwarder;
  dir: string;
  /** Every record of the overview's demo: accepted, skipped and rejected ones of three products. */
  seed(): Promise<void>;
}

/** A listening server with the shipped ruleset, mapping to the `default` target only, delivered to a mock biller. */
export async function liveServer(options: { clock?: () => number } = {}): Promise<LiveServer> {
  const clock = options.clock ?? Date.now;
  const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-admin-e2e-'));
  const biller = createMockBiller();
  const { url: billerUrl } = await biller.listen(0, '127.0.0.1');
  const store = createSqliteStore({ filename: join(dir, 'bilhetagem.db') });
  // One attempt only, so a failing biller makes a dead letter at once.
  const forwarder = createForwarder({
    store,
    targets: { default: { preset: 'http', url: `${billerUrl}/v1/charges`, retry: { attempts: 1 }, breaker: { failureThreshold: 1000, minRequests: 1000 } } },
    pollIntervalMs: 100,
    statsIntervalMs: 0,
    leaseMs: 60_000,
    clock,
  });
  const server = await panelServer({ store, forwarder, clock, server: { pipeline: { targets: ['default'] } } });
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  await forwarder.start();
  const address = server.app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    ...server,
    url,
    biller,
    billerUrl,
    forwarder,
    dir,
    async seed() {
      const now = clock();
      const records: unknown[] = [];
      for (let i = 0; i < 12; i++) records.push(voiceRecord(`call-${i}`, now, { subject: ['acme', 'umbrella', 'globex'][i % 3] }, { duration_s: 30 + i * 7 }));
      records.push(voiceRecord('call-inbound', now, {}, { direction: 'inbound' }));
      records.push(voiceRecord('call-zero', now, {}, { duration_s: 0 }));
      records.push(voiceRecord('call-ghost', now, { subject: 'nobody' }));
      records.push(voiceRecord('call-suspended', now, { subject: 'initech' }));
      records.push(voiceRecord('call-future', now, { time: new Date(now + 3_600_000).toISOString() }));
      records.push(voiceRecord('call-bad', now, {}, { duration_s: 'long' }));
      for (let i = 0; i < 5; i++) {
        records.push({ specversion: '1.0', id: `sms-${i}`, source: 'sms-gateway', type: 'sms.sent', time: new Date(now - 300_000).toISOString(), subject: 'umbrella', data: { segments: 1 + i, to: '+14155550100', region: 'us-east' } });
        records.push({ specversion: '1.0', id: `sess-${i}`, source: 'mobile-core', type: 'data.session.closed', time: new Date(now - 300_000).toISOString(), subject: 'acme', data: { bytes: 1_500_001 + i, apn: 'internet.example' } });
      }
      const res = await server.send(records);
      if (res.statusCode >= 300 && res.statusCode !== 207) throw new Error(`seeding failed: ${res.statusCode} ${res.body}`);
    },
    async close() {
      await forwarder.stop();
      await server.app.close();
      await store.close();
      await biller.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function login(page: Page, url: string, username: string, password = PASSWORD): Promise<void> {
  await page.goto(`${url}/admin`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#current-user');
}
