/**
 * The default ruleset written by hand in TypeScript: the speed a person would get coding these exact
 * rules directly. It is the "physical limit" column of `npm run bench`, not a product feature, and it
 * does not explain rejections in detail (that is part of what the pipeline pays for).
 */
const E164 = /^\+[1-9][0-9]{1,14}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const CUSTOMERS = new Map<string, { plan: string; status: string }>([
  ['acme', { plan: 'business', status: 'active' }],
  ['globex', { plan: 'basic', status: 'active' }],
  ['initech', { plan: 'basic', status: 'suspended' }],
  ['umbrella', { plan: 'business', status: 'active' }],
]);

const TYPES = new Set(['voice.call.completed', 'sms.sent', 'data.session.closed', 'storage.usage.hourly']);

type Result = { verdict: 'accepted'; output: Record<string, unknown> } | { verdict: 'skipped'; code: string } | { verdict: 'rejected'; errors: string[] };

function isObj(v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
const str = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 256;
const nonEmpty = (v: unknown) => typeof v === 'string' && v.length > 0;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** RFC 3339 date-time, with the calendar checked (2026-02-30 is no date). */
function dateTime(s: unknown): boolean {
  if (typeof s !== 'string') return false;
  const m = DATE_TIME.exec(s);
  if (!m) return false;
  const y = +s.slice(0, 4);
  const mo = +s.slice(5, 7);
  const d = +s.slice(8, 10);
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return mo >= 1 && mo <= 12 && d >= 1 && d <= (mo === 2 && leap ? 29 : DAYS[mo - 1]) && +s.slice(11, 13) <= 23 && +s.slice(14, 16) <= 59 && +s.slice(17, 19) <= 60;
}
const int = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** Half-even rounding on the decimal digits (shifting the exponent in the string, as JSONata's $round does). */
function roundHalfEven(x: number, d: number): number {
  let [m, e] = String(x).split('e');
  let v = Number(`${m}e${e ? Number(e) + d : d}`);
  let r = Math.round(v);
  if (Math.abs(r - v) === 0.5 && Math.abs(r % 2) === 1) r -= 1;
  [m, e] = String(r).split('e');
  v = Number(`${m}e${e ? Number(e) - d : -d}`);
  return Object.is(v, -0) ? 0 : v;
}

export function handwritten(r: unknown, nowMs: number): Result {
  if (!isObj(r)) return { verdict: 'rejected', errors: ['NOT_AN_OBJECT'] };
  const errors: string[] = [];
  const envelope = r.specversion === '1.0' && str(r.id) && str(r.source) && str(r.type) && str(r.subject) && dateTime(r.time) && isObj(r.data) &&
    (r.datacontenttype === undefined || typeof r.datacontenttype === 'string') && (r.dataschema === undefined || typeof r.dataschema === 'string');
  if (typeof r.type !== 'string' || !TYPES.has(r.type)) return { verdict: 'rejected', errors: envelope ? ['UNKNOWN_TYPE'] : ['UNKNOWN_TYPE', 'SCHEMA_VIOLATION'] };
  if (!envelope) return { verdict: 'rejected', errors: ['SCHEMA_VIOLATION'] };
  const d = r.data;
  const keys = Object.keys(d);
  switch (r.type) {
    case 'voice.call.completed':
      if (!int(d.duration_s, 0, 86400) || !E164.test(d.from) || !E164.test(d.to) || (d.direction !== 'inbound' && d.direction !== 'outbound') || !nonEmpty(d.region) || keys.length !== 5) {
        return { verdict: 'rejected', errors: ['SCHEMA_VIOLATION'] };
      }
      break;
    case 'sms.sent':
      if (!int(d.segments, 1, 10) || !E164.test(d.to) || !nonEmpty(d.region) || keys.length !== 3) return { verdict: 'rejected', errors: ['SCHEMA_VIOLATION'] };
      break;
    case 'data.session.closed':
      if (!int(d.bytes, 0, Infinity) || !nonEmpty(d.apn) || keys.length !== 2) return { verdict: 'rejected', errors: ['SCHEMA_VIOLATION'] };
      break;
    case 'storage.usage.hourly':
      if (typeof d.gb !== 'number' || !(d.gb >= 0) || keys.length !== 1) return { verdict: 'rejected', errors: ['SCHEMA_VIOLATION'] };
      break;
    default:
      return { verdict: 'rejected', errors: ['UNKNOWN_TYPE'] };
  }
  const age = (nowMs - Date.parse(r.time)) / 1000;
  if (age < -300) errors.push('TIME_IN_FUTURE');
  if (age > 3024000) errors.push('TIME_TOO_OLD');
  const customer = CUSTOMERS.get(r.subject);
  if (!customer) errors.push('UNKNOWN_CUSTOMER');
  else if (customer.status === 'suspended') errors.push('CUSTOMER_SUSPENDED');
  const premium = r.type === 'voice.call.completed' && d.to.startsWith('+55900');
  if (premium && customer && customer.plan !== 'business') errors.push('PREMIUM_NOT_ALLOWED');
  if (errors.length) return { verdict: 'rejected', errors };
  let sku: string, quantity: number, unit: string;
  const extra: Record<string, unknown> = {};
  switch (r.type) {
    case 'voice.call.completed':
      if (d.direction === 'inbound') return { verdict: 'skipped', code: 'INBOUND_NOT_BILLED' };
      if (d.duration_s === 0) return { verdict: 'skipped', code: 'ZERO_DURATION' };
      sku = 'VOICE_OUT';
      quantity = Math.ceil(d.duration_s / 60);
      unit = 'minute';
      extra.region = d.region;
      if (premium) extra.rate_class = 'premium';
      break;
    case 'sms.sent':
      sku = 'SMS';
      quantity = d.segments;
      unit = 'message';
      extra.region = d.region;
      break;
    case 'data.session.closed':
      if (d.bytes === 0) return { verdict: 'skipped', code: 'ZERO_USAGE' };
      sku = 'DATA_MB';
      quantity = Math.ceil(d.bytes / 1_000_000);
      unit = 'MB';
      extra.apn = d.apn;
      break;
    default:
      sku = 'STORAGE_GBH';
      quantity = roundHalfEven(d.gb, 3);
      unit = 'GB-hour';
  }
  return {
    verdict: 'accepted',
    output: { idempotency_key: `${r.source}:${r.id}`, account: r.subject, sku, quantity, unit, occurred_at: r.time, plan: customer!.plan, ...extra, source: r.source, record_id: r.id },
  };
}
