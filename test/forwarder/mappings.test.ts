/** The preset mapping files, run with the jsonata package directly. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { RECORD_TYPES, customers, readMapping, record, repoRoot, runMapping, sampleData } from './helpers.js';

const TARGETS = ['lago', 'openmeter', 'stripe'] as const;
const bindings = (customer: unknown = customers.acme) => ({ customer, now: '2026-11-25T10:02:00Z', annotations: {} });

describe('mapping files', () => {
  it.each(TARGETS.flatMap((t) => RECORD_TYPES.map((type) => [t, type] as const)))('%s/%s names its target and type', (target, type) => {
    const m = readMapping(target, type);
    expect(m).toMatchObject({ $schema: '../../schemas/mapping.schema.json', target, type });
    expect(Object.keys(m).sort()).toEqual(['$schema', 'description', 'expression', 'target', 'type']);
  });

  const fileSchema = path.join(repoRoot, 'schemas/mapping.schema.json');
  it('match schemas/mapping.schema.json', () => {
    const validate = new Ajv2020({ strict: false }).compile(JSON.parse(readFileSync(fileSchema, 'utf8')) as object);
    for (const target of TARGETS) {
      for (const type of RECORD_TYPES) expect(validate(readMapping(target, type)), `${target}/${type}`).toBe(true);
    }
  });

  it('use only the allowed functions', () => {
    const allowed = new Set(['$customer', '$annotations', '$now', '$ceil', '$round', '$string', '$number', '$lowercase', '$time_ms', '$floor']);
    for (const target of TARGETS) {
      for (const type of RECORD_TYPES) {
        const text = ([] as string[]).concat(readMapping(target, type).expression).join('\n');
        for (const name of text.match(/\$[a-zA-Z_]+/g) ?? []) expect(allowed.has(name), `${target}/${type}: ${name}`).toBe(true);
      }
    }
  });
});

describe('quantities', () => {
  it('voice: whole minutes, each call rounded up', async () => {
    const q = async (duration_s: number) =>
      ((await runMapping('lago', record('voice.call.completed', { ...sampleData['voice.call.completed'], duration_s }), bindings())) as any).properties.quantity;
    expect(await q(1)).toBe(1);
    expect(await q(60)).toBe(1);
    expect(await q(61)).toBe(2);
    expect(await q(3600)).toBe(60);
  });

  it('data: MB of 10^6 bytes, rounded up', async () => {
    const q = async (bytes: number) => ((await runMapping('openmeter', record('data.session.closed', { bytes, apn: 'x' }), bindings())) as any).data.quantity;
    expect(await q(1)).toBe(1);
    expect(await q(1_000_000)).toBe(1);
    expect(await q(1_000_001)).toBe(2);
  });

  it('storage: GB-hours to 3 decimals for Lago and OpenMeter, whole MB-hours for Stripe without float noise', async () => {
    const lago = async (gb: number) => ((await runMapping('lago', record('storage.usage.hourly', { gb }), bindings())) as any).properties.quantity;
    const stripe = async (gb: number) => ((await runMapping('stripe', record('storage.usage.hourly', { gb }), bindings())) as any).payload.value;
    expect(await lago(1.23456)).toBe(1.235);
    expect(await stripe(1.1)).toBe('1100'); // 1.1 * 1000 = 1100.0000000000002 in binary
    expect(await stripe(0.0001)).toBe('1');
    expect(await stripe(2)).toBe('2000');
    expect(await stripe(0)).toBe('0');
  });

  it('sms: segments', async () => {
    const out = (await runMapping('stripe', record('sms.sent', sampleData['sms.sent']), bindings())) as any;
    expect(out.payload.value).toBe('3');
  });
});

describe('identity and customer fields', () => {
  it('Lago timestamp is whole unix seconds, fractions dropped', async () => {
    const out = (await runMapping('lago', record('sms.sent', sampleData['sms.sent'], { time: '2026-11-25T10:00:59.999Z' }), bindings())) as any;
    expect(out.timestamp).toBe(Date.parse('2026-11-25T10:00:59Z') / 1000);
  });

  it('Lago falls back to the record subject without a lago_subscription_id', async () => {
    const out = (await runMapping('lago', record('sms.sent', sampleData['sms.sent'], { subject: 'bare' }), bindings(customers.bare))) as any;
    expect(out.external_subscription_id).toBe('bare');
  });

  it('Stripe leaves stripe_customer_id out when the customer has none (the adapter then refuses the row)', async () => {
    const out = (await runMapping('stripe', record('sms.sent', sampleData['sms.sent']), bindings(customers.bare))) as any;
    expect(out.payload).toEqual({ value: '3' });
  });

  it('voice carries the premium rate class when the rules annotated it', async () => {
    const out = (await runMapping('lago', record('voice.call.completed', sampleData['voice.call.completed']), {
      ...bindings(),
      annotations: { premium: { rate_class: 'premium' } },
    })) as any;
    expect(out.properties.rate_class).toBe('premium');
  });
});
