/** Shared pieces of the forwarder tests: records in the outbox, outputs per preset, a mock biller, waiting. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMockBiller } from '../../src/mock-biller/index.ts';
import type { MockBiller, MockBillerOptions } from '../../src/mock-biller/index.ts';
import type { IngestItem, Store } from '../../src/ports/store.ts';

export const SOURCE = 'urn:test:voice';

/** What the default mapping makes of a record: the generic target dedupes by `idempotency_key`. */
export function chargeOutput(id: string, source = SOURCE): Record<string, unknown> {
  return { idempotency_key: `${source}:${id}`, account: 'acme', sku: 'VOICE_OUT', quantity: 2, unit: 'minute', source, record_id: id };
}

export function lagoOutput(id: string, source = SOURCE): Record<string, unknown> {
  return { transaction_id: `${source}:${id}`, external_subscription_id: 'sub_acme_001', code: 'voice_minutes', timestamp: 1_764_064_800, properties: { minutes: 2 } };
}

export function openMeterOutput(id: string, source = SOURCE): Record<string, unknown> {
  return { specversion: '1.0', id, source, type: 'voice.call.completed', subject: 'acme', time: '2026-11-25T10:00:00Z', data: { minutes: 2 } };
}

export function stripeOutput(id: string, source = SOURCE, nowMs = Date.now()): Record<string, unknown> {
  return { event_name: 'voice_minutes', identifier: `${source}:${id}`, timestamp: Math.floor(nowMs / 1000) - 60, payload: { stripe_customer_id: 'cus_acme001', value: 2 } };
}

/** Accepted records with one outbox row per key of `outputs(id)`. */
export function records(count: number, outputs: (id: string) => Record<string, unknown>, { from = 0, source = SOURCE, receivedAt = new Date() } = {}): IngestItem[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `rec-${from + i}`;
    return {
      source,
      id,
      type: 'voice.call.completed',
      subject: 'acme',
      payload: { id, source },
      payloadHash: `h-${id}`,
      verdict: 'accepted' as const,
      rulesetVersion: 'sha256:test',
      receivedAt,
      outputs: outputs(id),
    };
  });
}

export async function ingest(store: Pick<Store, 'ingest'>, items: IngestItem[]): Promise<void> {
  for (let i = 0; i < items.length; i += 500) await store.ingest(items.slice(i, i + 500));
}

export async function startBiller(options: MockBillerOptions = {}): Promise<{ biller: MockBiller; url: string }> {
  const biller = createMockBiller(options);
  const { url } = await biller.listen(0, '127.0.0.1');
  return { biller, url };
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function tempDir(prefix = 'bilhetagem-fwd-'): { dir: string; file(name: string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, file: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
