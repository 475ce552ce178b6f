/**
 * `npm run bench` — every benchmark case, each printing ratios against baselines measured in the same run.
 * `npm run bench -- pipeline` runs one case by name.
 */
import { benchPipeline } from './pipeline.ts';

const cases: Record<string, () => Promise<unknown>> = {
  pipeline: benchPipeline,
};

const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
console.log(`bilhetagem benchmarks — node ${process.version}, ${new Date().toISOString()}`);
for (const [name, run] of Object.entries(cases)) {
  if (only.length && !only.includes(name)) continue;
  await run();
}
