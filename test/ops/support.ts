/** Shared pieces of the operations tests: temp folders, records with a generic-HTTP output, a fake clock. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IngestItem } from '../../src/ports/store.ts';

export const SOURCE = 'urn:test:voice';
export const DAY = 86_400_000;
export const T0 = new Date('2026-03-01T00:00:00.000Z');

export function at(ms: number): Date {
  return new Date(T0.getTime() + ms);
}

export function tempDir(prefix = 'bilhetagem-ops-'): { dir: string; file(name: string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, file: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What the default mapping makes of a record: the mock biller's generic endpoint dedupes by `idempotency_key`. */
export function chargeOutput(id: string): Record<string, unknown> {
  return { idempotency_key: `${SOURCE}:${id}`, account: 'acme', sku: 'VOICE_OUT', quantity: 2, unit: 'minute', record_id: id };
}

/** Accepted records `rec-<from>`…, each with one outbox row for `target` (default `billing`). */
export function records(count: number, { from = 0, receivedAt = T0, target = 'billing', pad = 0 } = {}): IngestItem[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `rec-${from + i}`;
    return {
      source: SOURCE,
      id,
      type: 'voice.call.completed',
      subject: 'acme',
      payload: { id, source: SOURCE, data: { duration_s: 61, note: 'x'.repeat(pad) } },
      payloadHash: `h-${id}`,
      verdict: 'accepted' as const,
      rulesetVersion: 'sha256:test',
      receivedAt,
      outputs: { [target]: chargeOutput(id) },
    };
  });
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
