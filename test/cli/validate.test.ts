import { describe, it, expect, afterEach } from 'vitest';
import { gzipSync } from 'node:zlib';
import { cli, tempDir, voiceRecord, ndjson, NOW } from './helpers.ts';
import { copyRuleset } from '../support/ruleset.ts';

let tmp: ReturnType<typeof tempDir> | undefined;
afterEach(() => tmp?.cleanup());
const temp = () => (tmp = tempDir());

const good = [voiceRecord('ok-1'), voiceRecord('ok-2', { subject: 'globex' })];
const mixed = [voiceRecord('ok-1'), voiceRecord('bad-1', { subject: 'nobody' }), voiceRecord('skip-1', {}, { direction: 'inbound' })];

describe('bilhetagem validate', () => {
  it('exits 0 when every record is accepted, and prints the counts', async () => {
    const t = temp();
    const r = await cli(['validate', t.write('good.ndjson', ndjson(good)), '--now', NOW]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('2 records: 2 accepted, 0 skipped, 0 rejected');
  });

  it('exits 1 and prints each rejection with its line, id, code and reason, then counts per code', async () => {
    const t = temp();
    const r = await cli(['validate', t.write('mixed.ndjson', ndjson(mixed)), '--now', NOW]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/mixed\.ndjson:2 bad-1: rejected\n {2}UNKNOWN_CUSTOMER {2}The subject is not a known customer {2}\(rule unknown-customer: customer equal null, actual null\)/);
    expect(r.stdout).toContain('3 records: 1 accepted, 1 skipped, 1 rejected');
    expect(r.stdout).toMatch(/rejected {2}UNKNOWN_CUSTOMER +1/);
    expect(r.stdout).toMatch(/skipped {3}INBOUND_NOT_BILLED +1/);
  });

  it('reports a malformed line with its number as MALFORMED and goes on', async () => {
    const t = temp();
    const text = `${JSON.stringify(good[0])}\n{"id": "broken",\n\n${JSON.stringify(good[1])}\n`;
    const r = await cli(['validate', t.write('m.ndjson', text), '--now', NOW]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/m\.ndjson:2: malformed\n {2}MALFORMED {2}line 2: invalid JSON/);
    expect(r.stdout).toContain('3 records: 2 accepted, 0 skipped, 1 rejected (1 malformed)');
  });

  it('reads JSON arrays element by element, pointing at the index of a bad element', async () => {
    const t = temp();
    const text = `[\n${JSON.stringify(good[0])},\n{"bad": },\n${JSON.stringify(mixed[1])}\n]`;
    const r = await cli(['validate', t.write('a.json', text), '--now', NOW]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('a.json:3 [1]: malformed');
    expect(r.stdout).toContain('a.json:4 [2] bad-1: rejected');
    expect(r.stdout).toContain('3 records: 1 accepted, 0 skipped, 2 rejected (1 malformed)');
  });

  it('reads CSV with dotted headers, typing cells by the record schema', async () => {
    const t = temp();
    const csv = [
      'specversion,id,source,type,time,subject,data.duration_s,data.from,data.to,data.direction,data.region',
      '1.0,c1,voice-platform,voice.call.completed,2026-11-25T11:00:00Z,acme,61,+5511987654321,+5521912345678,outbound,br-sp',
      '1.0,c2,voice-platform,voice.call.completed,2026-11-25T11:00:00Z,acme,"6""1",+5511987654321,+5521912345678,outbound,br-sp',
      '1.0,c3,voice-platform,voice.call.completed,2026-11-25T11:00:00Z,acme,1,+5511987654321',
      '1.0,c4,voice-platform,voice.call.completed,2026-11-25T11:00:00Z,acme,0,+5511987654321,+5521912345678,outbound,br-sp',
    ].join('\n');
    const r = await cli(['validate', t.write('r.csv', csv), '--now', NOW]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/r\.csv:3 c2: rejected\n {2}SCHEMA_VIOLATION {2}\/data\/duration_s must be integer/);
    expect(r.stdout).toMatch(/r\.csv:4: malformed\n {2}MALFORMED {2}line 4: has 8 fields, the header has 11/);
    expect(r.stdout).toContain('4 records: 1 accepted, 1 skipped, 2 rejected (1 malformed)');
  });

  it('reads gzip by extension and by magic bytes, and stdin with a sniffed format', async () => {
    const t = temp();
    const gz = gzipSync(ndjson(mixed));
    const byExt = await cli(['validate', t.write('m.ndjson.gz', gz), '--now', NOW]);
    expect(byExt.stdout).toContain('3 records: 1 accepted, 1 skipped, 1 rejected');
    const byMagic = await cli(['validate', '-', '--now', NOW], { input: gz });
    expect(byMagic.stdout).toContain('3 records: 1 accepted, 1 skipped, 1 rejected');
    expect(byMagic.stdout).toContain('<stdin>:2 bad-1: rejected');
    const array = await cli(['validate', '-', '--now', NOW, '--input-format', 'json'], { input: JSON.stringify(good) });
    expect(array.code).toBe(0);
    expect(array.stdout).toContain('2 records: 2 accepted');
  });

  it('--format json prints one rejection per line and a summary', async () => {
    const t = temp();
    const r = await cli(['validate', t.write('mixed.ndjson', ndjson(mixed)), '--now', NOW, '--format', 'json']);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ type: 'rejection', line: 2, id: 'bad-1', errors: [{ code: 'UNKNOWN_CUSTOMER', rule: 'unknown-customer' }] });
    expect(lines.at(-1)).toMatchObject({ type: 'summary', records: 3, accepted: 1, skipped: 1, rejected: 1, codes: { rejected: { UNKNOWN_CUSTOMER: 1 }, skipped: { INBOUND_NOT_BILLED: 1 } } });
  });

  it('judges time rules against --now', async () => {
    const t = temp();
    const file = t.write('good.ndjson', ndjson(good));
    expect((await cli(['validate', file, '--now', NOW])).code).toBe(0);
    const later = await cli(['validate', file, '--now', '2027-01-30T00:00:00Z']);
    expect(later.code).toBe(1);
    expect(later.stdout).toContain('TIME_TOO_OLD');
  });

  it('exits 2 on an unreadable file, a bad --now and a bad flag', async () => {
    const missing = await cli(['validate', '/nonexistent/x.ndjson', '--now', NOW]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*x\.ndjson.*\[BLH_ERR_FILE_READ\]/);
    const badNow = await cli(['validate', 'examples/records.ndjson', '--now', 'tomorrow']);
    expect(badNow.code).toBe(2);
    expect(badNow.stderr).toContain('[BLH_ERR_INVALID_NOW]');
    const badFlag = await cli(['validate', 'examples/records.ndjson', '--format', 'yaml']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('Allowed choices are text, json');
  });

  it('exits 2 with file:line:column and the code when the ruleset is broken', async () => {
    const copy = copyRuleset();
    try {
      copy.write('rules/rules/data.rules.json', copy.read('rules/rules/data.rules.json').replace('"operator": "equal"', '"operator": "equals"'));
      const r = await cli(['validate', 'examples/records.ndjson', '--rules', copy.rules, '--mappings', copy.mappings, '--now', NOW]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/rules\/rules\/data\.rules\.json:\d+:\d+: unknown operator "equals" \[BLH_ERR_RULE_INVALID\]/);
    } finally {
      copy.cleanup();
    }
  });
});
