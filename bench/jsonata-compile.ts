/**
 * Interpreted jsonata vs the compiled fast path on the voice mapping. Run with:
 *   node --import tsx bench/jsonata-compile.ts
 * Not a test: figures depend on the machine; only the ratio against the baseline measured in the same run means anything.
 */
import { performance } from 'node:perf_hooks';
import jsonata from 'jsonata';
import { BAIL, compileJsonata } from '../src/core/compile-jsonata.ts';

const VOICE = `{ "idempotency_key": source & ":" & id, "account": subject, "sku": "VOICE_OUT", "quantity": $ceil(data.duration_s / 60), "unit": "minute", "occurred_at": time, "plan": $customer.plan }`;

// Records go through JSON.parse, as they do in the pipeline, so objects have the shapes real input has.
const records = Array.from({ length: 1000 }, (_, i) =>
  JSON.parse(JSON.stringify({
    specversion: '1.0',
    type: 'voice.call.completed',
    source: `switch-${i % 7}`,
    id: `call-${i}`,
    subject: `acct-${i % 50}`,
    time: new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString(),
    data: { duration_s: (i * 37) % 3600, region: i % 2 ? 'eu' : 'us' },
  })),
);
const bindingsFor = (i: number) => ({ customer: { plan: i % 3 ? 'gold' : 'basic' }, now: '2024-01-01T00:00:00.000Z' });
const bindings = records.map((_, i) => bindingsFor(i));

async function measureInterpreted(ms: number): Promise<number> {
  const expr = jsonata(VOICE);
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++, n++) await expr.evaluate(records[n % records.length], bindings[n % records.length]);
  }
  return n / (ms / 1000);
}

function measureCompiled(ms: number): number {
  const compiled = compileJsonata(VOICE);
  if (!compiled) throw new Error('the voice mapping did not compile');
  let n = 0;
  let bails = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++, n++) if (compiled.evaluate(records[n % records.length], bindings[n % records.length]) === BAIL) bails++;
  }
  if (bails > 0) throw new Error(`the fast path bailed ${bails} times`);
  return n / (ms / 1000);
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US').padStart(13);

// Warm both paths up before measuring, so the JIT has settled.
await measureInterpreted(300);
measureCompiled(300);
const interpreted = await measureInterpreted(2000);
const compiled = measureCompiled(2000);
console.log(`voice mapping, ${records.length} distinct records`);
console.log(`jsonata evaluate  ${fmt(interpreted)} evaluations/s`);
console.log(`compiled          ${fmt(compiled)} evaluations/s`);
console.log(`ratio             ${(compiled / interpreted).toFixed(1)}x`);
