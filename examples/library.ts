/**
 * Embedding the pipeline in a product service: load the ruleset once, judge records as they come.
 *   node --import tsx examples/library.ts
 */
import { loadRuleset, createPipeline } from '../src/index.ts';

const ruleset = await loadRuleset({ rules: 'rules', mappings: 'mappings' });
const pipeline = createPipeline(ruleset);

const result = await pipeline.process(
  {
    specversion: '1.0',
    id: 'call-0001',
    source: 'voice-platform',
    type: 'voice.call.completed',
    time: '2026-11-25T11:58:00Z',
    subject: 'globex',
    data: { duration_s: 125, from: '+5511987654321', to: '+5590012345', direction: 'outbound', region: 'br-sp' },
  },
  { now: '2026-11-25T12:00:00Z' },
);

if (result.verdict === 'accepted') console.log('bill this:', result.output);
else if (result.verdict === 'skipped') console.log(`not billable: ${result.code} (${result.message})`);
else for (const e of result.errors) console.log(`rejected: ${e.code} ${e.message}`, e.rule ? `[rule ${e.rule}]` : '', e.path ?? '');
console.log('judged by ruleset', result.rulesetVersion);
