/**
 * Screenshots of every page of the admin panel for the docs, taken from a live server with demo data:
 *
 *   node --import tsx test/admin/screenshots.ts [folder]     (default docs/images)
 *
 * Not a test (vitest does not pick it up: it is not *.test.ts). Needs /usr/bin/chromium.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT } from '../support/ruleset.ts';
import { launch, liveServer, login } from './browser.ts';
import type { LiveServer } from './browser.ts';
import { voiceRecord } from './support.ts';

export const SHOTS = ['overview', 'records', 'record', 'dead-letters', 'rules', 'playground', 'keys', 'accounts'] as const;

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Demo data over the last hour: the server's clock is moved back 55 minutes and forward in steps, with
 * records (accepted, skipped, rejected) sent at each step and the overview read so the queue is sampled;
 * then two dead letters and one more account.
 */
export async function demoData(server: LiveServer, shift: { offsetMs: number }): Promise<void> {
  const admin = await server.as('admin');
  const idle = async () => (await server.store.stats({ now: new Date(Date.now() + shift.offsetMs) })).deliveries.pending === 0;
  for (let step = 11; step >= 0; step--) {
    shift.offsetMs = -step * 5 * 60_000;
    const now = Date.now() + shift.offsetMs;
    const n = 4 + ((step * 7) % 9);
    const records = Array.from({ length: n }, (_, i) => voiceRecord(`call-${step}-${i}`, now, { subject: ['acme', 'umbrella', 'globex'][i % 3] }, { duration_s: 20 + i * 11 }));
    if (step % 3 === 0) records.push(voiceRecord(`call-${step}-ghost`, now, { subject: 'nobody' }));
    if (step % 4 === 1) records.push(voiceRecord(`call-${step}-future`, now, { time: new Date(now + 3_600_000).toISOString() }));
    if (step % 2 === 0) records.push(voiceRecord(`call-${step}-in`, now, {}, { direction: 'inbound' }));
    if (step === 4) records.push(...Array.from({ length: 6 }, (_, i) => voiceRecord(`call-${step}-sus-${i}`, now, { subject: 'initech' })));
    await server.send(records);
    await admin.get('/admin/api/overview');
    await until(idle, 'the records to be delivered');
    if (step > 0) shift.offsetMs += 2 * 60_000;
    await admin.get('/admin/api/overview');
  }
  shift.offsetMs = 0;
  await server.seed();
  await until(idle, 'the seed to be delivered');
  server.biller.setFaults({ failureRate: 1 });
  const now = Date.now();
  await server.send([voiceRecord('call-lost-1', now, { subject: 'umbrella' }), voiceRecord('call-lost-2', now, { subject: 'acme' })]);
  await until(async () => (await server.store.stats({ now: new Date() })).openDeadLetters >= 2, 'two dead letters');
  server.biller.setFaults({});
  await admin.get('/admin/api/overview');
  await server.store.createAccount({ username: 'ana', role: 'operator', passwordHash: 'scrypt$15$8$1$x$x' });
}

export async function shoot(page: Page, url: string, name: (typeof SHOTS)[number], dir: string): Promise<string> {
  const file = join(dir, `admin-${name}.png`);
  const go = async (hash: string, ready: string) => {
    await page.goto(`${url}/admin${hash}`);
    await page.waitForSelector(ready);
  };
  switch (name) {
    case 'overview':
      await go('#/overview', '[data-chart=records] rect');
      break;
    case 'records':
      await go('#/records', '#records-table tbody tr[data-record]');
      break;
    case 'record':
      await go('#/record/voice-platform/call-3', '#attempts');
      break;
    case 'dead-letters':
      await go('#/dead-letters', '#dead-letters-table tbody tr[data-dead-letter]');
      break;
    case 'rules':
      await go('#/rules', '#history tbody tr');
      await page.click('#active-ruleset .actions button');
      await page.waitForSelector('#file-content');
      break;
    case 'playground':
      await go('#/playground', '#pg-run');
      await page.click('#pg-run');
      await page.waitForSelector('#pg-output .explanation');
      break;
    case 'keys':
      await go('#/keys', '#keys-table tbody tr[data-key]');
      break;
    case 'accounts':
      await go('#/accounts', '#accounts-table tbody tr[data-account]');
      break;
  }
  await page.screenshot({ path: file });
  return file;
}

async function main(): Promise<void> {
  const dir = process.argv[2] ?? join(ROOT, 'docs', 'images');
  mkdirSync(dir, { recursive: true });
  const shift = { offsetMs: 0 };
  const server = await liveServer({ clock: () => Date.now() + shift.offsetMs });
  const browser = await launch();
  try {
    await demoData(server, shift);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await login(page, server.url, 'admin');
    for (const name of SHOTS) console.log(await shoot(page, server.url, name, dir));
  } finally {
    await browser.close();
    await server.close();
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
