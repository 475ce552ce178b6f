/**
 * `npm run bench` — every benchmark case, each printing ratios against baselines measured in the same run.
 * `npm run bench -- pipeline` runs one case by name.
 */
import { benchPipeline } from './pipeline.ts';
import { benchCli } from './cli.ts';
import { benchForwarding } from './forwarding.ts';
import { benchIngest } from './ingest.ts';
import { benchScaleOut } from './scale-out.ts';
import { benchStoreIngest } from './store-ingest.ts';
import { benchStorePostgres } from './store-postgres.ts';

const cases: Record<string, () => Promise<unknown>> = {
  pipeline: benchPipeline,
  cli: benchCli,
  forwarding: () => benchForwarding(),
  ingest: () => benchIngest(),
  'scale-out': () => benchScaleOut(),
  store: () => benchStoreIngest(),
  'store-postgres': () => benchStorePostgres(),
};

const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
console.log(`bilhetagem benchmarks — node ${process.version}, ${new Date().toISOString()}`);
for (const [name, run] of Object.entries(cases)) {
  if (only.length && !only.includes(name)) continue;
  await run();
}
