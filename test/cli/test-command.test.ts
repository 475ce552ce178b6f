import { describe, it, expect, afterEach } from 'vitest';
import { cli, voiceRecord } from './helpers.ts';
import { copyRuleset } from '../support/ruleset.ts';

let copy: ReturnType<typeof copyRuleset> | undefined;
afterEach(() => copy?.cleanup());
const run = (c: ReturnType<typeof copyRuleset>, ...args: string[]) => cli(['test', '--rules', c.rules, '--mappings', c.mappings, ...args]);

describe('bilhetagem test', () => {
  it('passes the shipped tests with 100% rule and condition coverage, and every code exercised', async () => {
    const r = await cli(['test', '--coverage']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✓ \d+ passed, 0 failed \(\d+ cases in 5 files\)/);
    expect(r.stdout).toMatch(/coverage: 100% — rules (\d+)\/\1 outcomes, conditions (\d+)\/\2 outcomes/);
    for (const code of ['TIME_IN_FUTURE', 'TIME_TOO_OLD', 'UNKNOWN_CUSTOMER', 'CUSTOMER_SUSPENDED', 'UNKNOWN_TYPE', 'PREMIUM_NOT_ALLOWED', 'INBOUND_NOT_BILLED', 'ZERO_DURATION', 'ZERO_USAGE', 'SCHEMA_VIOLATION']) {
      expect(r.stdout).toMatch(new RegExp(`✓ ${code} +[1-9]`));
    }
  });

  it('coverage in JSON: every rule and leaf condition both true and false', async () => {
    const r = await cli(['test', '--coverage', '--format', 'json']);
    const report = JSON.parse(r.stdout);
    expect(report.failed).toBe(0);
    expect(report.coverage.rules.length).toBeGreaterThanOrEqual(9);
    for (const rule of report.coverage.rules) {
      expect([rule.name, rule.true > 0, rule.false > 0]).toEqual([rule.name, true, true]);
      for (const c of rule.conditions) expect([rule.name, c.at, c.true > 0, c.false > 0]).toEqual([rule.name, c.at, true, true]);
    }
    // The lago mappings' "? :" is traced: the then branch ran, the else (no subscription id) never can with this data.
    const lago = report.coverage.mappings.find((m: any) => m.target === 'lago' && m.type === 'sms.sent');
    expect(lago.branches).toEqual([expect.objectContaining({ condition: '$customer.lago_subscription_id', traced: true, then: expect.any(Number), else: 0 })]);
    expect(lago.branches[0].then).toBeGreaterThan(0);
  });

  it('a failing case shows what differs, path by path, and exits 1', async () => {
    const c = (copy = copyRuleset());
    c.write('rules/tests/extra.test.json', {
      now: '2026-11-25T12:00:00Z',
      cases: [
        { name: 'passes', record: voiceRecord('a'), expect: { verdict: 'accepted', output: { quantity: 2 }, match: 'partial' } },
        { name: 'wrong output', record: voiceRecord('b'), expect: { verdict: 'accepted', output: { quantity: 3, unit: 'minute', extra: true }, match: 'partial' } },
        { name: 'wrong verdict', record: voiceRecord('c', { subject: 'initech' }), expect: { verdict: 'accepted', codes: [] } },
        { name: 'exact output', record: voiceRecord('d'), expect: { verdict: 'accepted', output: { quantity: 2 } } },
      ],
    });
    const r = await run(c, `${c.rules}/tests/extra.test.json`);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('  ✓ passes');
    expect(r.stdout).toMatch(/ {2}✗ wrong output {2}\(.*extra\.test\.json:\d+\)\n {6}output: partial output of target "default" differs\n {8}\$\.quantity: expected 3, got 2\n {8}\$\.extra: missing \(expected true\)/);
    expect(r.stdout).toMatch(/✗ wrong verdict .*\n {6}verdict: expected accepted, got rejected: CUSTOMER_SUSPENDED The customer's account is suspended\n {6}codes: expected \[\], got \["CUSTOMER_SUSPENDED"\]/);
    expect(r.stdout).toMatch(/✗ exact output .*\n {6}output: output of target "default" differs\n {8}\$\.idempotency_key: not expected \(got "voice-platform:d"\)/);
    expect(r.stdout).toContain('✗ 1 passed, 3 failed (4 cases in 1 file)');
  });

  it('--format json gives each case with its failures and diff', async () => {
    const c = (copy = copyRuleset());
    c.write('rules/tests/extra.test.json', { now: '2026-11-25T12:00:00Z', cases: [{ name: 'wrong', record: voiceRecord('b'), expect: { verdict: 'accepted', output: { quantity: 3 }, match: 'partial' } }] });
    const r = await run(c, `${c.rules}/tests/extra.test.json`, '--format', 'json');
    expect(JSON.parse(r.stdout)).toMatchObject({
      passed: 0,
      failed: 1,
      cases: [{ name: 'wrong', passed: false, failures: [{ what: 'output', diff: [{ path: '$.quantity', kind: 'changed', expected: 3, actual: 2 }] }] }],
    });
  });

  it('coverage shows a rule the tests never made true', async () => {
    const c = (copy = copyRuleset());
    const voice = JSON.parse(c.read('rules/tests/voice.test.json'));
    voice.cases = voice.cases.filter((x: any) => !/inbound/.test(x.name));
    c.write('rules/tests/voice.test.json', voice);
    const r = await run(c, '--coverage');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✗ inbound-not-billed +true 0 +false \d+ +.*voice\.rules\.json:\d+ +never true/);
    expect(r.stdout).toMatch(/✗ INBOUND_NOT_BILLED +0/);
    expect(r.stdout).not.toContain('coverage: 100%');
  });

  it('an invalid test file stops the run with file:line:column (exit 2)', async () => {
    const c = (copy = copyRuleset());
    c.write('rules/tests/bad.test.json', { cases: [{ name: 'x', record: {}, expect: { verdict: 'maybe' } }] });
    const r = await run(c);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.test\.json:\d+:\d+: \/cases\/0\/expect\/verdict must be one of \["accepted","skipped","rejected"\] \[BLH_ERR_FILE_INVALID\]/);
  });

  it('no test files is an error (exit 2)', async () => {
    const c = (copy = copyRuleset());
    const r = await run(c, c.dir + '/mappings');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no test files');
  });
});
