import { describe, expect, it } from 'vitest';
import { createOpenMeterTarget } from '../../src/forwarder/targets/openmeter.js';
import { answer, item, netError } from './helpers.js';

const NOW = Date.parse('2026-11-25T10:00:00Z');
const ce = (id: string, over: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id,
  source: 'urn:bilhetagem:sms',
  type: 'sms.sent',
  subject: 'acme',
  time: '2026-11-25T10:00:00Z',
  data: { quantity: 1 },
  ...over,
});

describe('openmeter target', () => {
  const t = createOpenMeterTarget({ apiUrl: 'http://openmeter.local:8888', apiKey: 'om_tok' });

  it('one event: application/cloudevents+json; several: an array as application/cloudevents-batch+json', () => {
    const a = item(ce('a'));
    const b = item(ce('b'));
    const c = item(ce('c'));
    expect(t.buildRequests([a]).requests[0]).toEqual({
      method: 'POST',
      origin: 'http://openmeter.local:8888',
      path: '/api/v1/events',
      headers: { authorization: 'Bearer om_tok', 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(ce('a')),
      items: [a],
    });
    const batch = t.buildRequests([a, b, c]).requests[0]!;
    expect(batch.headers['content-type']).toBe('application/cloudevents-batch+json');
    expect(JSON.parse(batch.body)).toEqual([ce('a'), ce('b'), ce('c')]);
  });

  it('needs no token (self-hosted)', () => {
    const selfHosted = createOpenMeterTarget({ apiUrl: 'http://127.0.0.1:8888' });
    expect(selfHosted.buildRequests([item(ce('a'))]).requests[0]!.headers.authorization).toBeUndefined();
  });

  it('refuses an event without subject or with a bad time, without sending it', () => {
    const noSubject = item(ce('a', { subject: undefined }));
    const badTime = item(ce('b', { time: 'yesterday' }));
    const badData = item(ce('c', { data: [1] }));
    const { requests, refused } = t.buildRequests([noSubject, badTime, badData]);
    expect(requests).toEqual([]);
    expect(refused.map((r) => r.outcome.reason)).toEqual([
      'not a valid OpenMeter CloudEvent: subject must be a non-empty string',
      'not a valid OpenMeter CloudEvent: time must be an RFC 3339 date-time',
      'not a valid OpenMeter CloudEvent: data must be an object',
    ]);
  });

  it('2xx (204 to a new or a duplicate event) is delivered', () => {
    const req = t.buildRequests([item(ce('a')), item(ce('b'))]).requests[0]!;
    expect(t.classify(req, answer(204), NOW)).toEqual([
      { kind: 'delivered', status: 204 },
      { kind: 'delivered', status: 204 },
    ]);
  });

  it('400 on one event is permanent; on a batch every event is isolated', () => {
    const problem = { type: 'about:blank', title: 'Bad Request', status: 400, detail: 'subject: required' };
    const one = t.buildRequests([item(ce('a'))]).requests[0]!;
    expect(t.classify(one, answer(400, problem), NOW)[0]).toMatchObject({ kind: 'permanent', status: 400 });
    const many = t.buildRequests([item(ce('a')), item(ce('b'))]).requests[0]!;
    expect(t.classify(many, answer(400, problem), NOW).every((o) => o.kind === 'retry' && o.isolate)).toBe(true);
  });

  it('429, 5xx and network errors retry', () => {
    const req = t.buildRequests([item(ce('a'))]).requests[0]!;
    expect(t.classify(req, answer(429, '', { 'retry-after': '3' }), NOW)[0]).toMatchObject({ kind: 'retry', retryAfterMs: 3000 });
    expect(t.classify(req, answer(503), NOW)[0]!.kind).toBe('retry');
    expect(t.classify(req, netError('UND_ERR_SOCKET'), NOW)[0]!.kind).toBe('retry');
  });
});
