import { describe, it, expect, afterEach } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempDir, NOW } from './helpers.ts';
import { ROOT } from '../support/ruleset.ts';

let tmp: ReturnType<typeof tempDir> | undefined;
afterEach(() => tmp?.cleanup());

const RECORDS = join(ROOT, 'examples', 'records.ndjson');

/** A folder with base/ (the shipped ruleset) and head/ (the shipped ruleset with examples/rule-change applied). */
function setup() {
  const t = (tmp = tempDir());
  for (const side of ['base', 'head']) {
    cpSync(join(ROOT, 'rules'), t.path(`${side}/rules`), { recursive: true });
    cpSync(join(ROOT, 'mappings'), t.path(`${side}/mappings`), { recursive: true });
  }
  cpSync(join(ROOT, 'examples/rule-change/rules'), t.path('head/rules'), { recursive: true });
  cpSync(join(ROOT, 'examples/rule-change/mappings'), t.path('head/mappings'), { recursive: true });
  return t;
}

function expectRuleChangeReport(out: string) {
  // Premium numbers opened to every plan: the basic-plan premium calls flip.
  expect(out).toMatch(/verdict changes: \d+ records?\n {2}rejected PREMIUM_NOT_ALLOWED → /);
  expect(out).toMatch(/PREMIUM_NOT_ALLOWED \(rule premium-needs-business-plan\) → /);
  // Voice per 30-second block: quantity and unit change.
  expect(out).toMatch(/output changes: \d+ records\n {2}\$\.quantity {3}\d+\n/);
  expect(out).toMatch(/ {2}\$\.unit {3}\d+\n(.*\n)*? {6}.*records\.ndjson:\d+ rec-\d+: "minute" → "30s"/);
  expect(out).toMatch(/VOICE_OUT +[\d,]+ +[\d,]+ +\+[\d,]+ \(\+\d+\.\d%\)/);
  expect(out).toMatch(/DATA_MB +[\d,]+ +[\d,]+ +0\n/);
}

describe('bilhetagem backtest', () => {
  it('compares against a folder holding rules/ and mappings/', async () => {
    const t = setup();
    const r = await cli(['backtest', '--base', t.path('base'), '--rules', t.path('head/rules'), '--mappings', t.path('head/mappings'), RECORDS, '--now', NOW, '--samples', '2']);
    expect(r.code).toBe(0);
    expectRuleChangeReport(r.stdout);
    expect(r.stdout).toMatch(/backtest: 200 records, target default/);
  });

  it('compares against a rules folder, with --base-mappings', async () => {
    const t = setup();
    const r = await cli(['backtest', '--base', t.path('base/rules'), '--base-mappings', t.path('base/mappings'), '--rules', t.path('head/rules'), '--mappings', t.path('head/mappings'), RECORDS, '--now', NOW]);
    expect(r.code).toBe(0);
    expectRuleChangeReport(r.stdout);
  });

  it('compares against a git ref, reading the files with git show (no checkout)', async () => {
    const t = setup();
    const repo = t.path('base');
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' } });
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'base');
    // The working tree now holds the change; HEAD still holds the base.
    cpSync(join(ROOT, 'examples/rule-change/rules'), join(repo, 'rules'), { recursive: true });
    cpSync(join(ROOT, 'examples/rule-change/mappings'), join(repo, 'mappings'), { recursive: true });
    const r = await cli(['backtest', '--base', 'HEAD', RECORDS, '--now', NOW], { cwd: repo });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expectRuleChangeReport(r.stdout);
    expect(r.stdout).toMatch(/before +sha256:[0-9a-f]{16} .* git HEAD/);
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: repo, encoding: 'utf8' })).toMatch(/M rules\/rules\/voice\.rules\.json/);
  });

  it('--format json has the transitions, field changes and quantities', async () => {
    const t = setup();
    const r = await cli(['backtest', '--base', t.path('base'), '--rules', t.path('head/rules'), '--mappings', t.path('head/mappings'), RECORDS, '--now', NOW, '--format', 'json', '--samples', '1']);
    const report = JSON.parse(r.stdout);
    expect(report.records).toBe(200);
    expect(report.transitions[0]).toMatchObject({ from: 'rejected PREMIUM_NOT_ALLOWED', samples: [expect.objectContaining({ file: RECORDS })] });
    expect(report.transitions[0].samples).toHaveLength(1);
    const q = report.outputChanges.fields.find((f: any) => f.path === '$.quantity');
    expect(q.count).toBeGreaterThan(0);
    const voice = report.quantities.find((x: any) => x.sku === 'VOICE_OUT');
    expect(voice.after).toBeGreaterThan(voice.before);
    expect(report.unchanged + report.outputChanges.records + report.transitions.reduce((n: number, x: any) => n + x.count, 0)).toBe(200);
  });

  it('the same ruleset on both sides changes nothing', async () => {
    const t = setup();
    const r = await cli(['backtest', '--base', t.path('base'), '--rules', t.path('base/rules'), '--mappings', t.path('base/mappings'), RECORDS, '--now', NOW]);
    expect(r.stdout).toContain('verdict changes: 0 records');
    expect(r.stdout).toContain('output changes: 0 records');
    expect(r.stdout).toContain('unchanged: 200 records');
  });

  it('a base that is neither a folder nor a git ref is an error (exit 2)', async () => {
    const t = setup();
    const r = await cli(['backtest', '--base', 'no-such-ref', '--rules', t.path('head/rules'), '--mappings', t.path('head/mappings'), RECORDS, '--now', NOW]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not inside a git repository|neither a folder nor a git ref/);
    const missing = await cli(['backtest', RECORDS]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('backtest needs --base');
  });
});
