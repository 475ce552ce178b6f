/**
 * Every body a preset builds, from the real mapping files, is checked against the billing APIs' own request
 * schemas (shared/contracts, or the copies in test/fixtures/contracts), then field by field.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLagoTarget } from '../../src/forwarder/targets/lago.js';
import { createOpenMeterTarget } from '../../src/forwarder/targets/openmeter.js';
import { createStripeTarget } from '../../src/forwarder/targets/stripe.js';
import type { OutboxItem } from '../../src/forwarder/targets/types.js';
import { CONTRACTS, NOW, RECORD_TYPES, contractsDir, customers, decodeForm, loadContracts, record, repoRoot, runMapping, sampleData } from './helpers.js';
import type { RecordType } from './helpers.js';

const check = loadContracts();
const bindings = { customer: customers.acme, now: '2026-11-25T10:02:00Z', annotations: {} };
const expectedTs = Math.floor(Date.parse('2026-11-25T10:00:00.250Z') / 1000);
const quantities: Record<RecordType, { lago: number; stripe: string; unit: string; code: string; stripeName: string }> = {
  'voice.call.completed': { lago: 3, stripe: '3', unit: 'minute', code: 'voice_out', stripeName: 'voice_out' },
  'sms.sent': { lago: 3, stripe: '3', unit: 'message', code: 'sms', stripeName: 'sms' },
  'data.session.closed': { lago: 4, stripe: '4', unit: 'MB', code: 'data_mb', stripeName: 'data_mb' },
  'storage.usage.hourly': { lago: 1.1, stripe: '1100', unit: 'GB-hour', code: 'storage_gbh', stripeName: 'storage_mbh' },
};

async function itemFor(target: string, type: RecordType, id = 'rec-1'): Promise<OutboxItem> {
  const rec = record(type, sampleData[type], { id });
  const output = await runMapping(target, rec, bindings);
  return { rowId: `row-${id}`, source: String(rec.source), id, idempotencyKey: `${String(rec.source)}:${id}`, output, attempt: 1 };
}

describe('contract schemas', () => {
  it('prefers ../shared/contracts and keeps identical copies in test/fixtures/contracts', () => {
    const shared = path.resolve(repoRoot, '../shared/contracts');
    expect(contractsDir()).toBe(existsSync(shared) ? shared : path.join(repoRoot, 'test/fixtures/contracts'));
    for (const name of CONTRACTS) {
      const copy = path.join(repoRoot, 'test/fixtures/contracts', `${name}.schema.json`);
      expect(existsSync(copy)).toBe(true);
      if (existsSync(shared)) expect(readFileSync(copy, 'utf8')).toBe(readFileSync(path.join(shared, `${name}.schema.json`), 'utf8'));
    }
  });

  it('the fixture copies compile and reject a wrong body on their own', () => {
    const fromFixtures = loadContracts(path.join(repoRoot, 'test/fixtures/contracts'));
    expect(fromFixtures('lago-event', { event: { code: 'x' } })).not.toEqual([]);
    expect(fromFixtures('openmeter-event', { id: 'a', source: 's', specversion: '1.0', type: 't' })).not.toEqual([]);
    expect(fromFixtures('stripe-meter-event', { event_name: 'x', payload: { stripe_customer_id: 'c', value: '1.5' } })).not.toEqual([]);
  });
});

describe.each(RECORD_TYPES)('%s', (type) => {
  const q = quantities[type];

  it('Lago single: body matches lago-event.schema.json, field by field', async () => {
    const adapter = createLagoTarget({ apiKey: 'lago_key', apiUrl: 'https://lago.example.com' });
    const { requests, refused } = adapter.buildRequests([await itemFor('lago', type)]);
    expect(refused).toEqual([]);
    expect(requests).toHaveLength(1);
    const req = requests[0]!;
    expect(req.path).toBe('/api/v1/events');
    expect(req.headers.authorization).toBe('Bearer lago_key');
    const body = JSON.parse(req.body);
    expect(check('lago-event', body)).toEqual([]);
    expect(body.event.transaction_id).toBe('urn:bilhetagem:voice:rec-1');
    expect(body.event.external_subscription_id).toBe('sub_acme_001');
    expect(body.event.code).toBe(q.code);
    expect(body.event.timestamp).toBe(expectedTs);
    expect(Number.isInteger(body.event.timestamp)).toBe(true);
    expect(body.event.properties.quantity).toBe(q.lago);
    expect(body.event.properties.unit).toBe(q.unit);
    expect(body.event.properties.plan).toBe('business');
  });

  it('Lago batch: body matches lago-event-batch.schema.json', async () => {
    const adapter = createLagoTarget({ apiKey: 'k' });
    const items = [await itemFor('lago', type, 'a'), await itemFor('lago', type, 'b'), await itemFor('lago', type, 'c')];
    const { requests } = adapter.buildRequests(items);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.path).toBe('/api/v1/events/batch');
    const body = JSON.parse(requests[0]!.body);
    expect(check('lago-event-batch', body)).toEqual([]);
    expect(body.events.map((e: { transaction_id: string }) => e.transaction_id)).toEqual([
      'urn:bilhetagem:voice:a',
      'urn:bilhetagem:voice:b',
      'urn:bilhetagem:voice:c',
    ]);
  });

  it('OpenMeter single and batch: every event matches openmeter-event.schema.json', async () => {
    const adapter = createOpenMeterTarget({ apiUrl: 'http://om.local:8888' });
    const one = adapter.buildRequests([await itemFor('openmeter', type)]).requests[0]!;
    expect(one.headers['content-type']).toBe('application/cloudevents+json');
    const event = JSON.parse(one.body);
    expect(check('openmeter-event', event)).toEqual([]);
    expect(event).toMatchObject({ specversion: '1.0', id: 'rec-1', source: 'urn:bilhetagem:voice', type, subject: 'acme', time: '2026-11-25T10:00:00.250Z' });
    expect(event.data.quantity).toBe(q.lago);
    expect(event.data.unit).toBe(q.unit);

    const batch = adapter.buildRequests([await itemFor('openmeter', type, 'a'), await itemFor('openmeter', type, 'b')]).requests[0]!;
    expect(batch.headers['content-type']).toBe('application/cloudevents-batch+json');
    const events = JSON.parse(batch.body);
    expect(events).toHaveLength(2);
    for (const e of events) expect(check('openmeter-event', e)).toEqual([]);
  });

  it('Stripe: decoded form matches stripe-meter-event.schema.json, field by field', async () => {
    const adapter = createStripeTarget({ apiKey: 'sk_test_123' });
    const { requests, refused } = adapter.buildRequests([await itemFor('stripe', type)], NOW);
    expect(refused).toEqual([]);
    const req = requests[0]!;
    expect(req.path).toBe('/v1/billing/meter_events');
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req.headers['idempotency-key']).toBe('urn:bilhetagem:voice:rec-1');
    const form = decodeForm(req.body);
    expect(check('stripe-meter-event', form)).toEqual([]);
    expect(form).toEqual({
      event_name: q.stripeName,
      identifier: 'urn:bilhetagem:voice:rec-1',
      timestamp: String(expectedTs),
      payload: { stripe_customer_id: 'cus_acme001', value: q.stripe },
    });
  });
});
