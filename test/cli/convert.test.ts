import { describe, it, expect, afterEach } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { cli, tempDir, voiceRecord, ndjson, NOW } from './helpers.ts';
import { generateCorpus, CORPUS_NOW } from '../support/corpus.ts';

let tmp: ReturnType<typeof tempDir> | undefined;
afterEach(() => tmp?.cleanup());
const temp = () => (tmp = tempDir());
const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

describe('bilhetagem convert', () => {
  it('writes the outputs of accepted records, the rejected ones with reasons and line, and a summary on stderr', async () => {
    const t = temp();
    const input = t.write('in.ndjson', `${ndjson([voiceRecord('a'), voiceRecord('b', { subject: 'initech' }), voiceRecord('c', {}, { duration_s: 0 })])}not json\n`);
    const r = await cli(['convert', input, '-o', t.path('out.ndjson'), '--rejects', t.path('rejects.ndjson'), '--now', NOW]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('4 records: 1 accepted, 1 skipped, 2 rejected (1 malformed)');
    expect(lines(t.path('out.ndjson'))).toEqual([expect.objectContaining({ record_id: 'a', sku: 'VOICE_OUT', quantity: 2 })]);
    const rejects = lines(t.path('rejects.ndjson'));
    expect(rejects).toHaveLength(2);
    expect(rejects[0]).toMatchObject({ line: 2, errors: [{ code: 'CUSTOMER_SUSPENDED' }], record: { id: 'b' } });
    expect(rejects[1]).toMatchObject({ line: 4, errors: [{ code: 'MALFORMED' }], raw: 'not json' });
  });

  it('exits 0 when nothing is rejected, and writes to stdout with -o -', async () => {
    const t = temp();
    const r = await cli(['convert', t.write('in.ndjson', ndjson([voiceRecord('a'), voiceRecord('b')])), '-o', '-', '--now', NOW]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l).record_id)).toEqual(['a', 'b']);
  });

  it('--target maps to another target', async () => {
    const t = temp();
    const r = await cli(['convert', t.write('in.ndjson', ndjson([voiceRecord('a')])), '-o', '-', '--target', 'lago', '--now', NOW]);
    expect(JSON.parse(r.stdout)).toMatchObject({ transaction_id: 'voice-platform:a', code: 'voice_out', properties: { quantity: 2 } });
    const bad = await cli(['convert', t.path('in.ndjson'), '-o', '-', '--target', 'nowhere', '--now', NOW]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('[BLH_ERR_UNKNOWN_TARGET]');
  });

  it('--format json prints a JSON summary with throughput and peak memory', async () => {
    const t = temp();
    const r = await cli(['convert', t.write('in.ndjson', ndjson([voiceRecord('a')])), '-o', t.path('out.ndjson'), '--format', 'json', '--now', NOW]);
    const s = JSON.parse(r.stderr);
    expect(s).toMatchObject({ type: 'summary', records: 1, accepted: 1, target: 'default' });
    expect(s.maxRssBytes).toBeGreaterThan(1e6);
    expect(s.recordsPerSecond).toBeGreaterThan(0);
  });

  it('needs -o', async () => {
    const r = await cli(['convert', 'examples/records.ndjson', '--now', NOW]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('convert needs -o');
  });

  it('keeps memory flat on 50,000 records (loosely: well under what holding them would take)', async () => {
    const t = temp();
    const path = t.path('big.ndjson');
    const chunks: string[] = [];
    for (let k = 0; k < 5; k++) chunks.push(generateCorpus(10_000, 100 + k).map((r) => JSON.stringify(r)).join('\n'));
    writeFileSync(path, `${chunks.join('\n')}\n`);
    const r = await cli(['convert', path, '-o', t.path('out.ndjson'), '--rejects', t.path('rejects.ndjson'), '--format', 'json', '--now', new Date(CORPUS_NOW).toISOString()]);
    const s = JSON.parse(r.stderr);
    expect(s.records).toBe(50_000);
    expect(s.accepted + s.skipped + s.rejected).toBe(50_000);
    expect(s.maxRssBytes).toBeLessThan(200 * 1024 * 1024);
  });
});
