/**
 * Writes examples/records.ndjson: a day of realistic usage from the four products of the default ruleset,
 * with the usual share of problems (inbound calls, unknown customers, late records...). Times are relative
 * to --now (default: the current time), so the example stays inside the 35-day window.
 *   node --import tsx examples/make-batch.ts [--now 2026-11-25T12:00:00Z] [--count 200] [--out examples/records.ndjson]
 */
import { writeFileSync } from 'node:fs';
import { generateCorpus } from '../test/support/corpus.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const now = Date.parse(arg('now', new Date().toISOString()));
const count = Number(arg('count', '200'));
const out = arg('out', 'examples/records.ndjson');
const records = generateCorpus(count, 2026, now);
writeFileSync(out, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
console.log(`wrote ${records.length} records to ${out}`);
