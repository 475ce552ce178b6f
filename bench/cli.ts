/**
 * `bilhetagem convert` on a generated 1,000,000-record NDJSON file (~300 MB, ~60% valid), run as a child
 * process of the built binary: records/s and peak RSS, beside the in-process pipeline measured in the same
 * run. Targets: peak RSS under 256 MB whatever the file size; throughput close to the in-process figure.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRuleset, createPipeline } from '../src/index.ts';
import { generateCorpus, CORPUS_NOW } from '../test/support/corpus.ts';
import { ROOT } from '../test/support/ruleset.ts';
import buildCli from '../test/cli/global-setup.ts';
import { measureSync, printTable, fmt } from './util.ts';

const RECORDS = 1_000_000;
const CHUNK = 50_000;

interface CliRun {
  wallMs: number;
  recordsPerSecond: number;
  peakRssBytes: number;
  rssSource: string;
  summary: { records: number; accepted: number; rejected: number; durationMs: number; maxRssBytes: number };
}

async function writeCorpus(path: string): Promise<void> {
  const out = createWriteStream(path);
  for (let k = 0; k < RECORDS / CHUNK; k++) {
    const text = `${generateCorpus(CHUNK, 9000 + k).map((r) => JSON.stringify(r)).join('\n')}\n`;
    if (!out.write(text)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function runConvert(dir: string, input: string, rejects: boolean): Promise<CliRun> {
  const args = [join(ROOT, 'bin', 'bilhetagem'), 'convert', input, '-o', join(dir, 'out.ndjson'), '--format', 'json', '--now', new Date(CORPUS_NOW).toISOString()];
  if (rejects) args.push('--rejects', join(dir, 'rejects.ndjson'));
  const timeV = existsSync('/usr/bin/time');
  const [cmd, argv] = timeV ? ['/usr/bin/time', ['-v', process.execPath, ...args]] : [process.execPath, args];
  const started = performance.now();
  const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const [code] = await once(child, 'close');
  const wallMs = performance.now() - started;
  const line = stderr.split('\n').find((l) => l.startsWith('{"type":"summary"'));
  if (!line) throw new Error(`convert failed (exit ${code}): ${stderr.slice(0, 2000)}`);
  const summary = JSON.parse(line);
  const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1];
  return {
    wallMs,
    recordsPerSecond: (summary.records / wallMs) * 1000,
    peakRssBytes: kb ? Number(kb) * 1024 : summary.maxRssBytes,
    rssSource: kb ? '/usr/bin/time -v' : 'process.resourceUsage().maxRSS',
    summary,
  };
}

export async function benchCli(): Promise<{ cli: number; inProcess: number; peakRssMb: number }> {
  buildCli();
  const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-bench-cli-'));
  try {
    const input = join(dir, 'records.ndjson');
    await writeCorpus(input);
    const size = statSync(input).size;

    const ruleset = await loadRuleset({ rules: join(ROOT, 'rules'), mappings: join(ROOT, 'mappings') });
    const pipeline = createPipeline(ruleset, { targets: [ruleset.defaultTarget] });
    const corpus = generateCorpus(10_000, 7);
    let i = 0;
    const inProcess = measureSync(() => {
      const r = pipeline.processMaybeSync(corpus[i++ % corpus.length], CORPUS_NOW);
      if (r instanceof Promise) throw new Error('benchmark corpus left the compiled fast path');
    }, 1, 3000);
    const lines = corpus.map((r) => JSON.stringify(r));
    i = 0;
    const inProcessText = measureSync(() => {
      const r = pipeline.processMaybeSync(JSON.parse(lines[i++ % lines.length]), CORPUS_NOW);
      if (r instanceof Promise) throw new Error('benchmark corpus left the compiled fast path');
      if (r.verdict === 'accepted') JSON.stringify(r.output);
    }, 1, 3000);

    const plain = await runConvert(dir, input, false);
    const withRejects = await runConvert(dir, input, true);
    const mb = (b: number) => `peak RSS ${fmt(b / 1024 / 1024)} MB`;
    printTable(
      `cli: bilhetagem convert, ${fmt(RECORDS)} records (${fmt(size / 1024 / 1024)} MB NDJSON), one process, wall clock incl. startup`,
      [
        { name: 'in-process pipeline (processMaybeSync, parsed records)', value: inProcess, unit: 'rec/s' },
        { name: 'in-process JSON.parse + pipeline + JSON.stringify', value: inProcessText, unit: 'rec/s' },
        { name: 'bilhetagem convert -o out.ndjson', value: plain.recordsPerSecond, unit: 'rec/s', extra: mb(plain.peakRssBytes) },
        { name: 'bilhetagem convert -o out.ndjson --rejects rejects.ndjson', value: withRejects.recordsPerSecond, unit: 'rec/s', extra: mb(withRejects.peakRssBytes) },
      ],
      'in-process pipeline (processMaybeSync, parsed records)',
    );
    const peak = Math.max(plain.peakRssBytes, withRejects.peakRssBytes);
    console.log(`  peak RSS from ${plain.rssSource}: ${fmt(peak / 1024 / 1024)} MB (target < 256 MB); ${fmt(plain.summary.accepted)} accepted, ${fmt(plain.summary.rejected)} rejected`);
    return { cli: plain.recordsPerSecond, inProcess, peakRssMb: peak / 1024 / 1024 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
