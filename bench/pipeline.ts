/**
 * Pipeline throughput on one core, three ways, on the same generated corpus in the same run:
 * the naive glue (ajv + json-rules-engine engine.run + jsonata evaluate per record), our compiled
 * pipeline, and the default ruleset written by hand. Targets: pipeline >= 30x naive, >= 0.5x hand-written.
 */
import { lib } from './lib.ts';
import { generateCorpus, CORPUS_NOW } from '../test/support/corpus.ts';
import { handwritten } from './handwritten.ts';
import { measure, measureSync, printTable } from './util.ts';

export async function benchPipeline(): Promise<{ pipeline: number }> {
  const { loadRuleset, createPipeline, createReferencePipeline } = lib;
  const ruleset = await loadRuleset();
  const corpus = generateCorpus(10_000, 7);
  const fast = createPipeline(ruleset, { targets: ['default'] });
  const ref = createReferencePipeline(ruleset, { targets: ['default'] });
  let i = 0;
  const next = () => corpus[i++ % corpus.length];
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
