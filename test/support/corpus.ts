/**
 * A generated corpus of usage records for the default ruleset: valid records of every type and invalid
 * ones of many kinds (missing fields, wrong types, out-of-range and huge numbers, bad times, leap seconds,
 * unknown customers and types, unicode, prototype-polluting keys). Seeded, so every run sees the same.
 */
// The mock biller's seeded generator (mulberry32): one implementation for faults, corpora and fuzzing.
import { seededRandom } from '../../src/mock-biller/faults.ts';

export const prng = seededRandom;

export const CORPUS_NOW = Date.parse('2026-11-25T12:00:00Z');

const SOURCES = ['voice-platform', 'sms-gateway', 'mobile-core', 'storage-svc'];
const CUSTOMERS = ['acme', 'globex', 'initech', 'umbrella'];
const REGIONS = ['br-sp', 'br-rj', 'us-east', 'eu-west', 'região-sul', '東京'];

export function validRecord(rand: () => number, i: number, nowMs = CORPUS_NOW): Record<string, any> {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const kind = Math.floor(rand() * 4);
  const time = new Date(nowMs - Math.floor(rand() * 30 * 86400_000)).toISOString();
  const base = { specversion: '1.0', id: `rec-${i}`, time, subject: pick(CUSTOMERS) };
  switch (kind) {
    case 0:
      return {
        ...base,
        source: SOURCES[0],
        type: 'voice.call.completed',
        data: {
          duration_s: rand() < 0.05 ? 0 : Math.floor(rand() * 3600),
          from: `+5511${String(Math.floor(rand() * 1e8)).padStart(8, '0')}`,
          to: rand() < 0.1 ? `+55900${String(Math.floor(rand() * 1e6)).padStart(6, '0')}` : `+5521${String(Math.floor(rand() * 1e8)).padStart(8, '0')}`,
          direction: rand() < 0.15 ? 'inbound' : 'outbound',
          region: pick(REGIONS),
        },
      };
    case 1:
      return { ...base, source: SOURCES[1], type: 'sms.sent', data: { segments: 1 + Math.floor(rand() * 10), to: `+1415${String(Math.floor(rand() * 1e7)).padStart(7, '0')}`, region: pick(REGIONS) } };
    case 2:
      return { ...base, source: SOURCES[2], type: 'data.session.closed', data: { bytes: rand() < 0.05 ? 0 : Math.floor(rand() * 5e9), apn: 'internet.example' } };
    default:
      return { ...base, source: SOURCES[3], type: 'storage.usage.hourly', data: { gb: Math.round(rand() * 1e7) / 1e3 + (rand() < 0.2 ? 0.0005 : 0) } };
  }
}

type Mutation = (r: Record<string, any>, rand: () => number, nowMs: number) => unknown;

const MUTATIONS: Mutation[] = [
  (r) => {
    delete r.subject;
    return r;
  },
  (r) => {
    delete r.data;
    return r;
  },
  (r) => ({ ...r, time: 'yesterday' }),
  (r, _rand, now) => ({ ...r, time: new Date(now + 10 * 60_000).toISOString() }),
  (r, _rand, now) => ({ ...r, time: new Date(now + 4 * 60_000).toISOString() }),
  (r, _rand, now) => ({ ...r, time: new Date(now - 36 * 86400_000).toISOString() }),
  (r, _rand, now) => ({ ...r, time: new Date(now - 34 * 86400_000).toISOString() }),
  (r) => ({ ...r, time: '2026-11-24T23:59:60Z' }),
  (r) => ({ ...r, time: '2026-11-24T23:59:60.500+00:00' }),
  (r) => ({ ...r, time: '2026-11-25T09:00:00-03:00' }),
  (r) => ({ ...r, subject: 'nobody' }),
  (r) => ({ ...r, subject: 'initech' }),
  (r) => ({ ...r, subject: '' }),
  (r) => ({ ...r, subject: 42 }),
  (r) => ({ ...r, subject: '__proto__' }),
  (r) => ({ ...r, subject: 'constructor' }),
  (r) => ({ ...r, type: 'voice.call.dropped' }),
  (r) => ({ ...r, type: 7 }),
  (r) => ({ ...r, specversion: '0.3' }),
  (r) => ({ ...r, id: '' }),
  (r) => ({ ...r, data: { ...r.data, extra: 'field' } }),
  (r) => ({ ...r, data: null }),
  (r) => ({ ...r, data: [] }),
  (r) => ({ ...r, data: 'text' }),
  (r) => JSON.parse(`{"__proto__": {"polluted": true}, "constructor": {"prototype": {}}, ${JSON.stringify(r).slice(1)}`),
  (r) => ({ ...r, data: JSON.parse(`{"__proto__": 1, ${JSON.stringify(r.data ?? {}).slice(1)}`) }),
  (r) => ({ ...r, extension_attr: '✓ ünïcödé 🚀' }),
  () => null,
  () => 42,
  () => 'a string',
  () => [],
  () => ({}),
  (r) => {
    if (r.type === 'voice.call.completed') r.data.duration_s = 86401;
    else if (r.type === 'sms.sent') r.data.segments = 11;
    else if (r.type === 'data.session.closed') r.data.bytes = -1;
    else r.data.gb = -0.001;
    return r;
  },
  (r) => {
    if (r.type === 'voice.call.completed') r.data.duration_s = '60';
    else if (r.type === 'sms.sent') r.data.segments = 1.5;
    else if (r.type === 'data.session.closed') r.data.bytes = 1e300;
    else r.data.gb = 1e308;
    return r;
  },
  (r) => {
    if (r.type === 'voice.call.completed') r.data.to = '+55900123456';
    else if (r.type === 'data.session.closed') r.data.bytes = Number.MAX_SAFE_INTEGER + 2;
    else if (r.type === 'storage.usage.hourly') r.data.gb = 2.6745;
    return r;
  },
  (r) => {
    if (r.type === 'voice.call.completed') {
      r.data.to = '+55900123456';
      r.subject = 'globex';
    } else if (r.type === 'storage.usage.hourly') r.data.gb = 0.0005;
    else if (r.type === 'data.session.closed') r.data.bytes = 0;
    return r;
  },
  (r) => {
    if (r.type === 'voice.call.completed') {
      r.data.direction = 'inbound';
      r.subject = 'initech';
    } else if (r.data) r.data = {};
    return r;
  },
  (r) => {
    if (r.type === 'voice.call.completed') r.data.to = '5511999';
    else if (r.type === 'storage.usage.hourly') r.data.gb = 0;
    else if (r.type === 'sms.sent') r.data.to = '+1'.padEnd(20, '9');
    return r;
  },
  (r) => {
    r.data = { ...(r.data ?? {}), region: 'x'.repeat(10_000) };
    return r;
  },
  (r) => ({ ...r, source: '🚀 source', id: 'ünïcödé-id' }),
  (r) => ({ ...r, time: '2026-02-30T10:00:00Z' }),
  (r) => ({ ...r, time: null }),
];

/** n records: about 60% valid, the rest mutated in one or two ways. */
export function generateCorpus(n: number, seed = 42, nowMs = CORPUS_NOW): unknown[] {
  const rand = prng(seed);
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    let r: unknown = validRecord(rand, i, nowMs);
    if (rand() < 0.4) {
      const times = rand() < 0.2 ? 2 : 1;
      for (let k = 0; k < times && r !== null && typeof r === 'object' && !Array.isArray(r); k++) {
        const mutate = MUTATIONS[Math.floor(rand() * MUTATIONS.length)];
        try {
          r = mutate(structuredClone(r) as Record<string, any>, rand, nowMs);
        } catch {
          // A type-specific mutation on a record an earlier mutation already broke: keep it as it is.
        }
      }
    }
    out.push(r);
  }
  return out;
}
