import { parseTime } from '../../src/core/facts.ts';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import jsonata from 'jsonata';
import type { OutboxItem, TargetAnswer } from '../../src/forwarder/targets/types.js';

// ajv-formats is CommonJS: under NodeNext its default export arrives as the module object.
const addFormats = ((addFormatsImport as unknown as { default?: typeof addFormatsImport }).default ?? addFormatsImport) as unknown as (
  ajv: Ajv2020,
) => Ajv2020;

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** CI has a read-only shared/ beside the clone; a laptop has only the copies in test/fixtures. */
export function contractsDir(): string {
  const shared = path.resolve(repoRoot, '../shared/contracts');
  return existsSync(shared) ? shared : path.join(repoRoot, 'test/fixtures/contracts');
}

export const CONTRACTS = ['lago-event', 'lago-event-batch', 'openmeter-event', 'stripe-meter-event'] as const;
export type ContractName = (typeof CONTRACTS)[number];

export function loadContracts(dir = contractsDir()): (name: ContractName, value: unknown) => string[] {
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  addFormats(ajv);
  for (const name of CONTRACTS) ajv.addSchema(JSON.parse(readFileSync(path.join(dir, `${name}.schema.json`), 'utf8')) as object);
  return (name, value) => {
    const validate = ajv.getSchema(`${name}.schema.json`);
    if (!validate) throw new Error(`no schema ${name}`);
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
  };
}

export const RECORD_TYPES = ['voice.call.completed', 'sms.sent', 'data.session.closed', 'storage.usage.hourly'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

export interface MappingFile {
  $schema: string;
  description?: string;
  target: string;
  type: string;
  expression: string | string[];
}

export function readMapping(target: string, type: string): MappingFile {
  return JSON.parse(readFileSync(path.join(repoRoot, 'mappings', target, `${type}.mapping.json`), 'utf8')) as MappingFile;
}

export const customers = {
  acme: { id: 'acme', plan: 'business', status: 'active', lago_subscription_id: 'sub_acme_001', stripe_customer_id: 'cus_acme001' },
  bare: { id: 'bare', plan: 'basic', status: 'active' },
} as const;

export async function runMapping(target: string, record: Record<string, unknown>, bindings: Record<string, unknown>): Promise<unknown> {
  const m = readMapping(target, String(record.type));
  const source = Array.isArray(m.expression) ? m.expression.join('\n') : m.expression;
  // The pipeline binds $time_ms (the record's time in epoch ms, leap seconds folded) for every mapping.
  return jsonata(source).evaluate(record, { time_ms: parseTime(record.time), ...bindings });
}

export const NOW = Date.parse('2026-11-25T10:02:00Z');

export function record(type: RecordType, data: Record<string, unknown>, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    specversion: '1.0',
    id: 'rec-1',
    source: 'urn:bilhetagem:voice',
    type,
    time: '2026-11-25T10:00:00.250Z',
    subject: 'acme',
    data,
    ...over,
  };
}

export const sampleData: Record<RecordType, Record<string, unknown>> = {
  'voice.call.completed': { duration_s: 121, from: '+5511999990000', to: '+5511888880000', direction: 'outbound', region: 'br-sp' },
  'sms.sent': { segments: 3, to: '+5511888880000', region: 'br-sp' },
  'data.session.closed': { bytes: 3_000_001, apn: 'internet.example' },
  'storage.usage.hourly': { gb: 1.1 },
};

let rows = 0;
export function item(output: unknown, over: Partial<OutboxItem> = {}): OutboxItem {
  rows += 1;
  const id = over.id ?? `rec-${rows}`;
  const source = over.source ?? 'urn:test';
  return { rowId: `row-${rows}`, source, id, idempotencyKey: `${source}:${id}`, output, attempt: 1, ...over };
}

export function answer(status: number, body: unknown = '', headers: TargetAnswer['headers'] = {}): TargetAnswer {
  return { status, headers, body: typeof body === 'string' ? body : JSON.stringify(body) };
}

export function netError(code: string, message = code): { error: Error } {
  return { error: Object.assign(new Error(message), { code }) };
}

/** Form body → object, `payload[x]` → `payload.x` (how the Stripe contract is written). */
export function decodeForm(body: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const payload: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const m = /^payload\[(.+)\]$/.exec(k);
    if (m) payload[m[1]!] = v;
    else out[k] = v;
  }
  if (Object.keys(payload).length > 0) out.payload = payload;
  return out;
}
