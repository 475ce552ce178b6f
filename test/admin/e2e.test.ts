/**
 * The admin panel in a real browser: Debian's chromium driven by playwright-core against a listening
 * server (SQLite file, forwarder, mock biller). The tests run in order on one server, like an operator's
 * session. With BILHETAGEM_SCREENSHOTS=1 they also write docs/images/admin-*.png.
 */
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/ruleset.ts';
import { launch, liveServer, login, requireChromium } from './browser.ts';
import type { LiveServer } from './browser.ts';
import { demoData, shoot, SHOTS } from './screenshots.ts';
import { voiceRecord } from './support.ts';

const chromium = requireChromium();

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!chromium.available)('admin panel in chromium', { timeout: 60_000 }, () => {
  let server: LiveServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  const go = async (hash: string, ready: string) => {
    await page.goto(`${server.url}/admin${hash}`);
    await page.waitForSelector(ready);
  };
  const kpi = (name: string) => page.textContent(`[data-kpi="${name}"] .kpi-value`);
  const confirm = () => page.click('#modal [data-confirm]');
  /** Waits until the text of `selector` is (or, with `not`, is no longer) `value`; the page refreshes itself. */
  const textBecomes = (selector: string, value: string, not = false) =>
    page.waitForFunction(
      // A function, not a string: the panel's content security policy forbids evaluating strings.
      ([sel, v, negate]) => {
        const text = (globalThis as any).document.querySelector(sel)?.textContent;
        return negate ? text !== v : text === v;
      },
      [selector, value, not] as const,
      { timeout: 15_000 },
    );

  beforeAll(async () => {
    server = await liveServer();
    browser = await launch();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('logs in (after refusing a wrong password) and shows the overview', async () => {
    await page.goto(`${server.url}/admin`);
    await page.fill('#username', 'admin');
    await page.fill('#password', 'not the password');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#login-form .form-error:text("the username or password is wrong")');
    await page.fill('#password', 'correct horse battery staple');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('[data-kpi="received"]');
    expect(await page.textContent('#current-user')).toBe('admin');
    expect(await kpi('received')).toBe('0');
    const cookies = await context.cookies();
    expect(cookies).toMatchObject([{ name: 'blh_admin', httpOnly: true, sameSite: 'Strict', path: '/admin' }]);
  });

  it('shows live numbers once records are sent, without a reload', async () => {
    await server.seed();
    await textBecomes('[data-kpi="received"] .kpi-value', '28');
    expect(await kpi('accepted')).toBe('22');
    expect(await kpi('skipped')).toBe('2');
    expect(await kpi('rejected')).toBe('4');
    expect(await page.locator('[data-chart="records"] rect').count()).toBeGreaterThan(0);
    expect(await page.textContent('[data-chart="rejects"] .legend')).toContain('UNKNOWN_CUSTOMER');
    await until(async () => (await server.store.stats({ now: new Date() })).deliveries.delivered === 22, 'the seed to be delivered');
    await textBecomes('[data-kpi="pending"] .kpi-value', '0');
    await page.waitForSelector('[data-chart="deliveries"] rect.s-delivered');
  });

  it("finds a record and shows its story: verdict, every reason, ruleset version, output per target and attempts", async () => {
    await go('#/records', '#records-table');
    await page.fill('#f-subject', 'nobody');
    await page.click('.filters button[type=submit]');
    await page.waitForSelector('#records-table tr[data-record="voice-platform/call-ghost"]');
    expect(await page.locator('#records-table tbody tr[data-record]').count()).toBe(1);
    await page.click('#records-table tr[data-record="voice-platform/call-ghost"]');
    await page.waitForSelector('#rejections .code:text("UNKNOWN_CUSTOMER")');
    await page.click('#rejections button:text("Explain this rejection")');
    await page.waitForSelector('.explanation [data-rule="unknown-customer"].fired');

    await go('#/records?id=call-3', '#records-table tr[data-record="voice-platform/call-3"]');
    await page.click('#records-table tr[data-record="voice-platform/call-3"] a');
    await page.waitForSelector('#targets [data-target="default"][data-status="delivered"]');
    expect(await page.textContent('.facts')).toContain((await server.holder.current!).version);
    expect(await page.locator('#attempts tbody tr[data-outcome="delivered"]').count()).toBe(1);
    await page.click('#verdict button:text("Explain this decision")');
    await page.waitForSelector('#verdict .explanation[data-verdict="accepted"]');
  });

  it('retries a dead letter against the mock biller and sees it delivered', async () => {
    server.biller.setFaults({ failureRate: 1 });
    await server.send([voiceRecord('call-lost', Date.now())]);
    await until(async () => (await server.store.stats({ now: new Date() })).openDeadLetters === 1, 'a dead letter');
    server.biller.setFaults({});
    await go('#/dead-letters', '#dead-letters-table tr[data-record="call-lost"]');
    expect(await page.textContent('#dead-letters-table tr[data-record="call-lost"]')).toContain('MAX_ATTEMPTS');
    await page.click('#dead-letters-table tr[data-record="call-lost"] button:text("Details")');
    await page.waitForSelector('#dead-letters-table tr.detail:not([hidden]) dl');
    await page.click('#dead-letters-table tr[data-record="call-lost"] [data-action="retry"]');
    await confirm();
    await page.waitForSelector('#dead-letters-table td.empty');
    await until(async () => (await server.store.getRecord('voice-platform', 'call-lost'))?.targets.default?.status === 'delivered', 'the retried row to be delivered');
    await go('#/record/voice-platform/call-lost', '#targets [data-target="default"][data-status="delivered"]');
    expect(await page.locator('#attempts tbody tr').count()).toBe(2);
    expect(server.biller.received().endpoints.charges.items.some((i) => JSON.stringify(i).includes('call-lost'))).toBe(true);
  });

  it('tries a record in the playground', async () => {
    await go('#/playground', '#pg-run');
    await page.click('#pg-run');
    await page.waitForSelector('#pg-output .explanation[data-verdict="accepted"]');
    const record = voiceRecord('try-initech', Date.now(), { subject: 'initech' });
    await page.fill('#pg-record', JSON.stringify(record, null, 2));
    await page.click('#pg-run');
    await page.waitForSelector('#pg-output .explanation[data-verdict="rejected"] .code:text("CUSTOMER_SUSPENDED")');
    await page.fill('#pg-record', '{ not json');
    await page.click('#pg-run');
    await page.waitForSelector('#pg-output .error:text("not valid JSON")');
  });

  it('activates a candidate ruleset and rolls back to the earlier version', async () => {
    const original = server.holder.current!.version;
    await go('#/rules', '#running-version');
    await page.click('#active-ruleset button:text("New candidate from these files")');
    await page.waitForSelector('#candidate-editor');
    await page.click('#candidate button[data-path="rules/reference/customers.json"]');
    const text = await page.inputValue('#candidate-editor');
    await page.fill('#candidate-editor', text.replace('"plan": "basic", "status": "suspended"', '"plan": "basic", "status": "active"'));
    await page.click('#check-candidate');
    await page.waitForSelector('#candidate .check-status .ok');
    await page.click('#activate-candidate');
    await confirm();
    await textBecomes('#running-version', original, true);
    const activated = await page.textContent('#running-version');
    expect(activated).not.toBe(original);
    expect(server.holder.current!.version).toBe(activated);
    expect((await server.send([voiceRecord('call-initech-1', Date.now(), { subject: 'initech' })])).json().results[0].status).toBe('accepted');

    await page.click(`#history tr[data-version="${original}"] [data-action="activate"]`);
    await confirm();
    await textBecomes('#running-version', original);
    expect((await server.send([voiceRecord('call-initech-2', Date.now(), { subject: 'initech' })])).json().results[0].status).toBe('rejected');
    await go('#/audit?action=ruleset.rollback', '#audit-table tr[data-action="ruleset.rollback"]');
  });

  it('creates an API key shown once, uses it, and revokes it', async () => {
    await go('#/keys', '#new-key');
    await page.fill('#key-name', 'e2e key');
    await page.fill('#key-sources', 'voice-platform');
    await page.click('#new-key button[type=submit]');
    await page.waitForSelector('#modal input.secret');
    const key = await page.inputValue('#modal input.secret');
    expect(key).toMatch(/^blh_/);
    await page.click('#modal button:text("Done")');
    const post = (id: string) =>
      fetch(`${server.url}/v1/records`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(voiceRecord(id, Date.now())) });
    expect((await post('with-new-key')).status).toBe(202);
    const prefix = key.split('.')[0]!;
    expect(await page.textContent(`#keys-table tr[data-key="${prefix}"]`)).toContain('active');
    expect(await page.content()).not.toContain(key.split('.')[1]!);
    await page.click(`#keys-table tr[data-key="${prefix}"] [data-action="revoke"]`);
    await confirm();
    await page.waitForSelector(`#keys-table tr[data-key="${prefix}"] .b-revoked`);
    expect((await post('after-revoke')).status).toBe(401);
  });

  it('a viewer cannot do what only an operator or an admin may, in the page or by direct calls', async () => {
    server.biller.setFaults({ failureRate: 1 });
    await server.send([voiceRecord('call-lost-2', Date.now())]);
    await until(async () => (await server.store.stats({ now: new Date() })).openDeadLetters === 1, 'a second dead letter');
    server.biller.setFaults({});

    const viewerContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const viewer = await viewerContext.newPage();
    try {
      await login(viewer, server.url, 'viewer');
      const nav = await viewer.textContent('#nav');
      expect(nav).toContain('Dead letters');
      expect(nav).not.toContain('API keys');
      expect(nav).not.toContain('Accounts');
      await viewer.goto(`${server.url}/admin#/dead-letters`);
      await viewer.waitForSelector('#dead-letters-table tr[data-record="call-lost-2"]');
      expect(await viewer.isDisabled('#retry-selected')).toBe(true);
      expect(await viewer.isDisabled('#dead-letters-table tr[data-record="call-lost-2"] input[type=checkbox]')).toBe(true);
      expect(await viewer.locator('#dead-letters-table [data-action="retry"]').count()).toBe(0);
      await viewer.goto(`${server.url}/admin#/rules`);
      await viewer.waitForSelector('#history tbody tr');
      expect(await viewer.locator('#history [data-action="activate"]').count()).toBe(0);
      expect(await viewer.locator('button:text("Reload from files")').count()).toBe(0);
      await viewer.goto(`${server.url}/admin#/keys`);
      await viewer.waitForSelector('.forbidden');
      expect(await viewer.textContent('.forbidden')).toContain('viewer');

      // Straight to the API from the viewer's own page, with its cookie and CSRF token.
      const calls = await viewer.evaluate(async () => {
        const session = (await (await fetch('/admin/api/session')).json()) as { csrfToken: string; ruleset: { version: string } };
        const send = async (method: string, url: string, body?: unknown) => {
          const res = await fetch(`/admin/api${url}`, { method, headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken }, ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }) });
          return [url, res.status, ((await res.json()) as { code: string }).code] as const;
        };
        const dead = ((await (await fetch('/admin/api/dead-letters')).json()) as { items: { id: string }[] }).items;
        return Promise.all([
          send('POST', '/dead-letters/retry', { ids: dead.map((d: { id: string }) => d.id) }),
          send('POST', '/dead-letters/discard', { ids: dead.map((d: { id: string }) => d.id) }),
          send('POST', '/rules/activate', { version: session.ruleset.version }),
          send('POST', '/rules/reload'),
          send('POST', '/replay', { from: '2026-01-01T00:00:00Z', to: '2030-01-01T00:00:00Z' }),
          send('GET', '/keys'),
          send('POST', '/keys', { name: 'mine', sources: ['*'] }),
          send('POST', '/accounts', { username: 'eve', role: 'admin' }),
          send('POST', '/accounts/viewer/role', { role: 'admin' }),
        ]);
      });
      for (const [url, status, code] of calls) {
        expect(status, url as string).toBe(403);
        expect(code).toBe('BLH_ERR_ADMIN_FORBIDDEN');
      }
      // And without the CSRF token a viewer's write never reaches the role check.
      const noToken = await viewer.evaluate(async () => (await fetch('/admin/api/keys', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status);
      expect(noToken).toBe(403);
      expect((await server.store.listDeadLetters()).items).toHaveLength(1);
      expect((await server.store.getAccount('viewer'))?.role).toBe('viewer');
      expect((await server.store.listAccounts()).map((a) => a.username)).not.toContain('eve');
    } finally {
      await viewerContext.close();
    }
  });

  it('logs out', async () => {
    await go('#/overview', '#logout');
    await page.click('#logout');
    await page.waitForSelector('#login-form');
    const status = await page.evaluate(async () => (await fetch('/admin/api/session')).status);
    expect(status).toBe(401);
    expect(pageErrors).toEqual([]);
  });

  it.runIf(process.env.BILHETAGEM_SCREENSHOTS === '1')('saves a screenshot of every page to docs/images', async () => {
    const shift = { offsetMs: 0 };
    const fresh = await liveServer({ clock: () => Date.now() + shift.offsetMs });
    try {
      await demoData(fresh, shift);
      const shots = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await login(shots, fresh.url, 'admin');
      for (const name of SHOTS) await shoot(shots, fresh.url, name, join(ROOT, 'docs', 'images'));
    } finally {
      await fresh.close();
    }
  }, 120_000);
});
