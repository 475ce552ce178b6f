/**
 * Pipeline throughput on one core, three ways, on the same generated corpus in the same run:
 * the naive glue (ajv + json-rules-engine engine.run + jsonata evaluate per record), our compiled
 * pipeline, and the default ruleset written by hand. Targets: pipeline >= 30x naive, >= 0.5x hand-written.
 */
import { lib } from './lib.ts';
import { generateCorpus, CORPUS_NOW } from '../test/support/corpus.ts';
import { handwritten } from './handwritten.ts';
import { measure, measureSync, printTable } from './util.ts';
import type { PipelineResult } from '../src/types.ts';

/** How often the hand-written baseline gives the pipeline's answer: a fast baseline that is wrong is no limit. */
function agreement(corpus: unknown[], ours: (r: unknown) => PipelineResult, hand: (r: unknown) => ReturnType<typeof handwritten>): { same: number; first?: string } {
  let same = 0;
  let first: string | undefined;
  for (const r of corpus) {
    const a = ours(r);
    const b = hand(r);
    const ka = a.verdict === 'accepted' ? JSON.stringify(a.output) : a.verdict === 'skipped' ? a.code : [...new Set(a.errors.map((e) => e.code))].join(',');
    const kb = b.verdict === 'accepted' ? JSON.stringify(b.output) : b.verdict === 'skipped' ? b.code : b.errors.join(',');
    if (a.verdict === b.verdict && ka === kb) same++;
    else first ??= `${JSON.stringify(r).slice(0, 160)} → pipeline ${a.verdict} ${ka.slice(0, 120)}, hand-written ${b.verdict} ${kb.slice(0, 120)}`;
  }
  return { same, first };
}

export async function benchPipeline(): Promise<{ pipeline: number }> {
  const { loadRuleset, createPipeline, createReferencePipeline } = lib;
  const ruleset = await loadRuleset();
  // The records as every caller of the pipeline gets them (the server, the CLI, gRPC): parsed from JSON text.
  // Objects built by the generator's spreads and deletes are in V8 shapes no parser makes, which slow every
  // property read in all three variants alike and measure the generator more than the code.
  const corpus = generateCorpus(10_000, 7).map((r) => JSON.parse(JSON.stringify(r) ?? 'null') as unknown);
  const fast = createPipeline(ruleset, { targets: ['default'] });
  const ref = createReferencePipeline(ruleset, { targets: ['default'] });
  let i = 0;
  const next = () => corpus[i++ % corpus.length];
  const agree = agreement(corpus, (r) => fast.processMaybeSync(r, CORPUS_NOW) as PipelineResult, (r) => handwritten(r, CORPUS_NOW));
  const naive = await measure(() => ref.process(next(), { now: CORPUS_NOW }), 1, 3000);
  i = 0;
  const ours = measureSync(() => {
    const r = fast.processMaybeSync(next(), CORPUS_NOW);
    if (r instanceof Promise) throw new Error('benchmark corpus left the compiled fast path');
  }, 1, 3000);
  i = 0;
  const oursAsync = await measure(() => fast.processBatch(corpus.slice(0, 1000), { now: CORPUS_NOW }), 1000, 3000);
  i = 0;
  const hand = measureSync(() => handwritten(next(), CORPUS_NOW), 1, 3000);
  printTable(
    'pipeline: records/s on one core (10,000-record corpus, ~60% valid)',
    [
      { name: 'naive glue (ajv + json-rules-engine + jsonata)', value: naive, unit: 'rec/s' },
      { name: 'bilhetagem pipeline (processMaybeSync)', value: ours, unit: 'rec/s' },
      { name: 'bilhetagem pipeline (processBatch, 1000/batch)', value: oursAsync, unit: 'rec/s' },
      { name: 'hand-written TypeScript', value: hand, unit: 'rec/s' },
    ],
    'naive glue (ajv + json-rules-engine + jsonata)',
  );
  console.log(`  hand-written agrees with the pipeline on ${agree.same.toLocaleString('en-US')} of ${corpus.length.toLocaleString('en-US')} records (verdict; the set of reason codes, the skip code or the output)${agree.first ? `; first difference: ${agree.first}` : ''}`);
  console.log(`  pipeline / hand-written: ${(ours / hand).toFixed(2)}x (target >= 0.5x); pipeline / naive: ${(ours / naive).toFixed(1)}x (target >= 30x)`);

  // The configuration a user of the default ruleset runs: every target (default, lago, openmeter, stripe).
  const fastAll = createPipeline(ruleset);
  const refAll = createReferencePipeline(ruleset);
  i = 0;
  const naiveAll = await measure(() => refAll.process(next(), { now: CORPUS_NOW }), 1, 3000);
  i = 0;
  const oursAll = measureSync(() => fastAll.processMaybeSync(next(), CORPUS_NOW), 1, 3000);
  printTable(
    `pipeline, all ${fastAll.targets.length} targets mapped per accepted record`,
    [
      { name: 'naive glue', value: naiveAll, unit: 'rec/s' },
      { name: 'bilhetagem pipeline', value: oursAll, unit: 'rec/s' },
    ],
    'naive glue',
  );
  return { pipeline: ours };
}
