/** The panel's small parts on their own: backoff, sessions, alerts, options, finding the page's files. */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { evaluateAlerts } from '../../src/admin/alerts.ts';
import { findAssetsDir, loadAssets } from '../../src/admin/assets.ts';
import { createLockout } from '../../src/admin/lockout.ts';
import { ADMIN_DEFAULTS, resolveAdminOptions } from '../../src/admin/options.ts';
import { may, permissionsOf } from '../../src/admin/roles.ts';
import { createSessions, readCookie, sameToken, sessionCookie } from '../../src/admin/sessions.ts';
import { createMemoryStore } from '../../src/adapters/memory/index.ts';
import type { StoreStats } from '../../src/ports/store.ts';
import type { TimeSeries } from '../../src/ports/insight-store.ts';
import { ROOT } from '../support/ruleset.ts';

describe('lockout', () => {
  const lockout = () => createLockout({ freeFailures: 3, baseDelayMs: 1000, maxDelayMs: 5000, forgetMs: 60_000 });

  it('locks after the free failures, doubling up to the maximum, per username whatever its case', () => {
    const l = lockout();
    expect(l.fail('Ana', '10.0.0.1', 0)).toBe(0);
    expect(l.fail('ana', '10.0.0.2', 0)).toBe(0);
    expect(l.fail('ANA', '10.0.0.3', 0)).toBe(1000);
    expect(l.wait('ana', '10.0.0.9', 500)).toBe(500);
    expect(l.fail('ana', '10.0.0.4', 1000)).toBe(2000);
    expect(l.fail('ana', '10.0.0.5', 3000)).toBe(4000);
    expect(l.fail('ana', '10.0.0.6', 7000)).toBe(5000);
    expect(l.wait('bob', '10.0.0.9', 7000)).toBe(0);
  });

  it('forgets failures after a quiet hour, and a success clears them', () => {
    const l = lockout();
    l.fail('ana', 'a', 0);
    l.fail('ana', 'a', 0);
    expect(l.fail('ana', 'a', 61_001)).toBe(0);
    l.fail('ana', 'a', 61_002);
    l.succeed('ana', 'a');
    expect(l.fail('ana', 'a', 61_003)).toBe(0);
  });
});

describe('sessions', () => {
  it('keeps only a hash of the token, ends idle and old sessions, and evicts the least recently used', () => {
    const sessions = createSessions({ idleMs: 100, maxAgeMs: 1000, max: 2 });
    const a = sessions.create('ana', 'hash-a', 0);
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sessions.get(a.token, 50)?.username).toBe('ana');
    expect(sessions.get(a.token, 151)).toBeUndefined();
    const b = sessions.create('bob', 'hash-b', 0);
    for (let t = 90; t < 1000; t += 90) expect(sessions.get(b.token, t)).toBeDefined();
    expect(sessions.get(b.token, 1001)).toBeUndefined();
    const c = sessions.create('c', 'h', 0);
    const d = sessions.create('d', 'h', 0);
    sessions.get(c.token, 1);
    sessions.create('e', 'h', 1);
    expect(sessions.get(d.token, 2)).toBeUndefined();
    expect(sessions.get(c.token, 2)).toBeDefined();
  });

  it('ends every session of an account but the one kept', () => {
    const sessions = createSessions({ idleMs: 1000, maxAgeMs: 1000, max: 10 });
    const one = sessions.create('ana', 'h', 0);
    const two = sessions.create('ana', 'h', 0);
    sessions.endAll('ana', one.session);
    expect(sessions.get(one.token, 1)).toBeDefined();
    expect(sessions.get(two.token, 1)).toBeUndefined();
  });

  it('reads cookies and compares CSRF tokens in constant time', () => {
    expect(readCookie('a=1; blh_admin=tok; b=2', 'blh_admin')).toBe('tok');
    expect(readCookie('blh_admin_x=1', 'blh_admin')).toBeUndefined();
    expect(sameToken('abc', 'abc')).toBe(true);
    expect(sameToken('abd', 'abc')).toBe(false);
    expect(sameToken(undefined, 'abc')).toBe(false);
    expect(sessionCookie('t', { secure: true, maxAgeS: 10 })).toBe('blh_admin=t; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=10; Secure');
  });
});

describe('roles', () => {
  it('gives viewers reads, operators operations, admins everything, and unknown roles nothing', () => {
    expect(permissionsOf('viewer')).toEqual(['read', 'playground']);
    expect(may('operator', 'ruleset:activate')).toBe(true);
    expect(may('operator', 'keys:write')).toBe(false);
    expect(permissionsOf('admin')).toHaveLength(9);
    expect(permissionsOf('superuser')).toEqual([]);
  });
});

describe('alerts', () => {
  const stats = (over: Partial<StoreStats> = {}): StoreStats => ({
    records: { accepted: 0, skipped: 0, rejected: 0 },
    deliveries: { pending: 0, delivered: 0, dead: 0, discarded: 0 },
    openDeadLetters: 0,
    targets: {},
    oldestPendingAt: null,
    oldestPendingAgeMs: null,
    ...over,
  });
  const series = (over: { rejected?: number[]; accepted?: number[]; deadLetters?: number[] } = {}): TimeSeries => {
    const zeros = () => new Array(15).fill(0);
    return {
      from: new Date(0),
      to: new Date(900_000),
      bucketMs: 60_000,
      buckets: 15,
      records: { accepted: over.accepted ?? zeros(), skipped: zeros(), rejected: over.rejected ?? zeros() },
      rejectsByCode: {},
      deliveries: {},
      deadLetters: over.deadLetters ?? zeros(),
    };
  };
  const thresholds = { ...ADMIN_DEFAULTS.alerts };

  it('says nothing when all is well', () => {
    expect(evaluateAlerts({ stats: stats(), recent: series(), breakers: { lago: 'closed' }, thresholds, now: 0 })).toEqual([]);
  });

  it('rejections spike only past both the share and the minimum count, in the last five minutes', () => {
    const spike = (rejected: number, accepted: number, at = 14) => {
      const r = new Array(15).fill(0);
      const a = new Array(15).fill(0);
      r[at] = rejected;
      a[at] = accepted;
      return evaluateAlerts({ stats: stats(), recent: series({ rejected: r, accepted: a }), breakers: {}, thresholds, now: 0 }).map((x) => x.id);
    };
    expect(spike(10, 30)).toEqual(['rejects-spiking']);
    expect(spike(9, 0)).toEqual([]);
    expect(spike(10, 31)).toEqual([]);
    expect(spike(50, 0, 9)).toEqual([]);
  });

  it('dead letters grow when new ones came and some are open; old undelivered records get critical at six times the threshold', () => {
    const dl = new Array(15).fill(0);
    dl[3] = 2;
    expect(evaluateAlerts({ stats: stats({ openDeadLetters: 0 }), recent: series({ deadLetters: dl }), breakers: {}, thresholds, now: 0 })).toEqual([]);
    expect(evaluateAlerts({ stats: stats({ openDeadLetters: 2 }), recent: series({ deadLetters: dl }), breakers: {}, thresholds, now: 0 })[0]?.id).toBe('dead-letters-growing');
    const old = evaluateAlerts({ stats: stats({ oldestPendingAgeMs: 3_601_000 }), recent: series(), breakers: {}, thresholds, now: 0 });
    expect(old).toMatchObject([{ id: 'oldest-pending', severity: 'critical' }]);
  });
});

describe('options', () => {
  const base = () => ({ store: createMemoryStore(), rulesets: { current: undefined } });

  it('fills in the defaults and refuses unknown options by name', () => {
    const o = resolveAdminOptions(base());
    expect(o.sessionIdleMs).toBe(ADMIN_DEFAULTS.sessionIdleMs);
    expect(o.alerts.oldestPendingSeconds).toBe(600);
    expect(() => resolveAdminOptions({ ...base(), sesionIdleMs: 1 } as never)).toThrow(/unknown admin panel option "sesionIdleMs"/);
    expect(() => resolveAdminOptions({ ...base(), alerts: { rejectShar: 1 } } as never)).toThrow(/alerts.rejectShar/);
    expect(() => resolveAdminOptions({ ...base(), secureCookie: 'yes' } as never)).toThrow(/secureCookie/);
    expect(() => resolveAdminOptions({ rulesets: { current: undefined } } as never)).toThrow(/"store" is required/);
  });
});

describe('assets', () => {
  it('finds the page beside the module in src, and under dist/admin/assets from a built chunk', () => {
    expect(findAssetsDir()).toBe(join(ROOT, 'src', 'admin', 'assets') + '/');
    const assets = loadAssets();
    expect([...assets.keys()].sort()).toEqual(['app.css', 'app.js', 'favicon.svg', 'index.html']);
    const dist = mkdtempSync(join(tmpdir(), 'bilhetagem-dist-'));
    try {
      mkdirSync(join(dist, 'cli'), { recursive: true });
      cpSync(join(ROOT, 'src', 'admin', 'assets'), join(dist, 'admin', 'assets'), { recursive: true });
      expect(findAssetsDir(pathToFileURL(join(dist, 'chunk-ABC.js')).href)).toBe(join(dist, 'admin', 'assets') + '/');
      expect(findAssetsDir(pathToFileURL(join(dist, 'cli', 'main.js')).href)).toBe(join(dist, 'admin', 'assets') + '/');
      expect(findAssetsDir(pathToFileURL(join(tmpdir(), 'nowhere', 'x.js')).href)).toBeUndefined();
    } finally {
      rmSync(dist, { recursive: true, force: true });
    }
  });
});
