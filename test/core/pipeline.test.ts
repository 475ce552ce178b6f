import { describe, it, expect, beforeAll } from 'vitest';
import { loadRuleset, createPipeline, type Pipeline, type PipelineResult } from '../../src/index.ts';
import { RULES_DIR, MAPPINGS_DIR, NOW, voice } from '../support/ruleset.ts';

let pipeline: Pipeline;
beforeAll(async () => {
  pipeline = createPipeline(await loadRuleset({ rules: RULES_DIR, mappings: MAPPINGS_DIR }));
});

const codes = (r: PipelineResult) => (r.verdict === 'rejected' ? r.errors.map((e) => e.code) : r.verdict === 'skipped' ? [r.code] : []);
const run = (record: unknown, now = NOW) => pipeline.process(record, { now });

describe('default ruleset: voice.call.completed', () => {
  it('bills an outbound call per started minute, with the customer plan', async () => {
    const r = await run(voice());
    expect(r).toMatchObject({
      verdict: 'accepted',
      output: {
        idempotency_key: 'voice-platform:call-1',
        account: 'acme',
        sku: 'VOICE_OUT',
        quantity: 2,
        unit: 'minute',
        occurred_at: '2026-11-25T11:00:00Z',
        plan: 'business',
      },
    });
    expect(r.rulesetVersion).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect((await run(voice({}, { duration_s: 60 }))).verdict === 'accepted' && ((await run(voice({}, { duration_s: 60 }))) as any).output.quantity).toBe(1);
  });

  it('skips inbound calls and zero-length calls with their codes', async () => {
    expect(codes(await run(voice({}, { direction: 'inbound' })))).toEqual(['INBOUND_NOT_BILLED']);
    const zero = await run(voice({}, { duration_s: 0 }));
    expect(zero).toMatchObject({ verdict: 'skipped', code: 'ZERO_DURATION', rule: 'zero-duration' });
  });

  it('rejects premium numbers for a basic plan and explains the decisive condition', async () => {
    const r = await run(voice({ subject: 'globex' }, { to: '+55900123456' }));
    expect(r.verdict).toBe('rejected');
    if (r.verdict !== 'rejected') return;
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({
      code: 'PREMIUM_NOT_ALLOWED',
      rule: 'premium-needs-business-plan',
      condition: { fact: 'customer', path: '$.plan', operator: 'notEqual', factValue: 'basic', compareValue: 'business', result: true },
      actual: 'basic',
    });
  });

  it('lets a business customer call premium numbers and annotates the output', async () => {
    const r = await run(voice({}, { to: '+55900123456' }));
    expect(r).toMatchObject({ verdict: 'accepted', output: { rate_class: 'premium' }, annotations: [{ type: 'premium', rule: 'premium-call' }] });
  });

  it('reports every reject, not just the first, and a reject beats a skip', async () => {
    const r = await run(voice({ subject: 'initech', time: '2026-11-25T12:30:00Z' }, { direction: 'inbound', to: '+55900111111' }));
    expect(codes(r).sort()).toEqual(['CUSTOMER_SUSPENDED', 'PREMIUM_NOT_ALLOWED', 'TIME_IN_FUTURE']);
  });
});

describe('default ruleset: other products', () => {
  const base = { specversion: '1.0', id: 'x-1', time: '2026-11-25T11:00:00Z', subject: 'globex' };
  it('sms: quantity is the segment count', async () => {
    const r = await run({ ...base, source: 'sms-gateway', type: 'sms.sent', data: { segments: 3, to: '+14155550100', region: 'us-east' } });
    expect(r).toMatchObject({ verdict: 'accepted', output: { sku: 'SMS', unit: 'message', quantity: 3, plan: 'basic' } });
  });
  it('data: started megabytes, zero bytes skipped', async () => {
    const mk = (bytes: number) => ({ ...base, source: 'mobile-core', type: 'data.session.closed', data: { bytes, apn: 'internet' } });
    expect(await run(mk(1_000_001))).toMatchObject({ verdict: 'accepted', output: { sku: 'DATA_MB', unit: 'MB', quantity: 2 } });
    expect(await run(mk(1_000_000))).toMatchObject({ output: { quantity: 1 } });
    expect(await run(mk(0))).toMatchObject({ verdict: 'skipped', code: 'ZERO_USAGE' });
  });
  it('storage: GB-hours rounded to 3 decimals (JSONata rounds half to even)', async () => {
    const mk = (gb: number) => ({ ...base, source: 'storage-svc', type: 'storage.usage.hourly', data: { gb } });
    expect(await run(mk(1.23456))).toMatchObject({ verdict: 'accepted', output: { sku: 'STORAGE_GBH', unit: 'GB-hour', quantity: 1.235 } });
    expect(await run(mk(0.0025))).toMatchObject({ output: { quantity: 0.002 } });
  });
});

describe('default ruleset: rules for every type', () => {
  it('time window: 5 minutes ahead is fine, more is TIME_IN_FUTURE; 35 days back is the limit', async () => {
    expect((await run(voice({ time: '2026-11-25T12:04:59Z' }))).verdict).toBe('accepted');
    expect(codes(await run(voice({ time: '2026-11-25T12:05:01Z' })))).toEqual(['TIME_IN_FUTURE']);
    expect((await run(voice({ time: '2026-10-21T12:00:00Z' }))).verdict).toBe('accepted');
    expect(codes(await run(voice({ time: '2026-10-21T11:59:59Z' })))).toEqual(['TIME_TOO_OLD']);
  });
  it('"now" is an input: the same record judged at another now gets another verdict', async () => {
    expect(codes(await run(voice({ time: '2026-11-25T12:30:00Z' }), '2026-11-25T12:00:00Z'))).toEqual(['TIME_IN_FUTURE']);
    expect((await run(voice({ time: '2026-11-25T12:30:00Z' }), '2026-11-25T12:30:00Z')).verdict).toBe('accepted');
  });
  it('accepts a leap second', async () => {
    expect((await run(voice({ time: '2026-11-24T23:59:60Z' }))).verdict).toBe('accepted');
  });
  it('unknown and suspended customers', async () => {
    expect(codes(await run(voice({ subject: 'nobody' })))).toEqual(['UNKNOWN_CUSTOMER']);
    expect(codes(await run(voice({ subject: 'initech' })))).toEqual(['CUSTOMER_SUSPENDED']);
    expect(codes(await run(voice({ subject: '__proto__' })))).toEqual(['UNKNOWN_CUSTOMER']);
  });
  it('unknown type', async () => {
    const r = await run(voice({ type: 'voice.call.dropped' }));
    expect(r).toMatchObject({ verdict: 'rejected', errors: [{ code: 'UNKNOWN_TYPE', path: '/type', actual: 'voice.call.dropped' }] });
  });
  it('schema errors carry the JSON pointer, the keyword, expected and actual — all of them', async () => {
    const r = await run(voice({}, { duration_s: 86401, to: 'not-a-number', extra: 1 }));
    expect(r.verdict).toBe('rejected');
    if (r.verdict !== 'rejected') return;
    const byPath = Object.fromEntries(r.errors.map((e) => [e.path, e]));
    expect(byPath['/data/duration_s']).toMatchObject({ code: 'SCHEMA_VIOLATION', keyword: 'maximum', actual: 86401 });
    expect(byPath['/data/to']).toMatchObject({ keyword: 'pattern', actual: 'not-a-number' });
    expect(byPath['/data/extra']).toMatchObject({ keyword: 'additionalProperties' });
    const missing = await run(voice({ subject: undefined }));
    expect(missing).toMatchObject({ verdict: 'rejected', errors: [{ path: '/subject', keyword: 'required' }] });
  });
  it('a record that is not an object is rejected, not thrown', async () => {
    for (const v of [null, 42, 'x', [], true]) expect(await run(v)).toMatchObject({ verdict: 'rejected', errors: [{ code: 'NOT_AN_OBJECT' }] });
  });
  it('processBatch keeps order and mixes verdicts', async () => {
    const rs = await pipeline.processBatch([voice(), voice({}, { direction: 'inbound' }), null], { now: NOW });
    expect(rs.map((r) => r.verdict)).toEqual(['accepted', 'skipped', 'rejected']);
  });
  it('an invalid now is a coded error', async () => {
    await expect(pipeline.process(voice(), { now: 'soon' })).rejects.toMatchObject({ code: 'BLH_ERR_INVALID_NOW' });
  });
  it('unknown options are refused by name', async () => {
    expect(() => createPipeline(pipeline.ruleset, { colour: 'red' } as any)).toThrow(/unknown pipeline option "colour"/);
    expect(() => createPipeline(pipeline.ruleset, { targets: ['nope'] })).toThrow(expect.objectContaining({ code: 'BLH_ERR_UNKNOWN_TARGET' }));
  });
});

describe('explain', () => {
  it('shows every rule with each condition, the facts and the result', async () => {
    const e = await pipeline.explain(voice({ subject: 'globex' }, { to: '+55900123456' }), { now: NOW });
    expect(e.schema.valid).toBe(true);
    expect(e.facts).toMatchObject({ customer: { id: 'globex', plan: 'basic' }, subject: 'globex' });
    const premium = e.rules.find((r) => r.name === 'premium-needs-business-plan')!;
    expect(premium.fired).toBe(true);
    expect(premium.conditions).toMatchObject({ kind: 'all', result: true });
    const inbound = e.rules.find((r) => r.name === 'inbound-not-billed')!;
    expect(inbound).toMatchObject({ fired: false, conditions: { kind: 'all', children: [{ fact: 'data', path: '$.direction', factValue: 'outbound', result: false }] } });
    expect(e.result.verdict).toBe('rejected');
  });
  it('explains a schema failure without running rules', async () => {
    const e = await pipeline.explain(voice({}, { duration_s: -1 }), { now: NOW });
    expect(e.schema.valid).toBe(false);
    expect(e.schema.errors[0]).toMatchObject({ path: '/data/duration_s', keyword: 'minimum' });
    expect(e.rules).toEqual([]);
  });
});
