import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createPipeline } from '../../pipeline.ts';
import { BilhetagemError, ErrorCodes } from '../../errors.ts';
import { parseTestFile, runTests, formatDiff, type TestFile, type TestReport, type CoverageReport } from '../../testing/index.ts';
import { addOptions, resolveOptions } from '../config.ts';
import { loadRulesetFrom, nowMs } from '../shared.ts';
import { displayPath, displayPaths } from '../paths.ts';
import { FAIL, OK, plural, println, printJson, table } from '../output.ts';
import { markFailed, type CliContext } from '../context.ts';

const OPTIONS = ['rules', 'mappings', 'now', 'format', 'coverage'] as const;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('test')
    .description('run the ruleset test fixtures (record in, expected verdict, codes and output)')
    .argument('[paths...]', 'test files or folders of *.test.json (default: <rules>/tests)');
  addOptions(cmd, OPTIONS);
  cmd.addHelpText(
    'after',
    `
Each case gives a record (or recordFile), a frozen "now" (the case's, the file's, else --now) and the
expected verdict, codes (exactly these, any order) and/or output (exact, or "match": "partial").
--coverage adds, per rule and per leaf condition, how often it was true and false, per mapping how
often it ran and which branch of each "? :" was taken, and which codes the results carried.
Exit code: 0 every case passed, 1 one failed, 2 a test file is invalid or the ruleset does not load.

Example:
  $ bilhetagem test --coverage
  $ bilhetagem test rules/tests/voice.test.json --format json`,
  );
  cmd.action(async (paths: string[]) => {
    const o = resolveOptions(cmd, OPTIONS, ctx.env, ctx.cwd);
    const ruleset = await loadRulesetFrom(ctx, o);
    const pipeline = createPipeline(ruleset);
    const show = (p: string) => displayPath(ctx.cwd, p);
    const testPaths = await findTestFiles(ctx, paths.length ? paths : [join(o.rules, 'tests')]);
    const files: TestFile[] = [];
    for (const p of testPaths) {
      let text: string;
      try {
        text = await readFile(p, 'utf8');
      } catch (cause) {
        throw new BilhetagemError(ErrorCodes.FILE_READ, `cannot read ${show(p)}: ${(cause as Error).message}`, { cause, details: { file: show(p) } });
      }
      files.push(parseTestFile(show(p), text));
    }
    const report = await runTests(pipeline, files, {
      defaultNow: nowMs(o.now),
      readRecordFile: (p) => readFile(resolve(ctx.cwd, p), 'utf8'),
      coverage: o.coverage,
    });
    if (o.format === 'json') printJson(ctx.stdout, { rulesetVersion: pipeline.version, ...report });
    else printText(ctx, report, files.length, displayPaths(ctx.cwd, o));
    if (report.failed > 0) markFailed(ctx);
  });
}

async function findTestFiles(ctx: CliContext, paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const abs = resolve(ctx.cwd, p);
    let isDir: boolean;
    try {
      isDir = (await stat(abs)).isDirectory();
    } catch (cause) {
      throw new BilhetagemError(ErrorCodes.FILE_READ, `cannot read ${p}: ${(cause as Error).message}`, { cause, details: { file: p } });
    }
    if (!isDir) out.push(abs);
    else {
      const found = (await readdir(abs, { recursive: true, withFileTypes: true }))
        .filter((d) => d.isFile() && d.name.endsWith('.test.json'))
        .map((d) => join(d.parentPath, d.name))
        .sort();
      out.push(...found);
    }
  }
  if (out.length === 0) throw new BilhetagemError(ErrorCodes.FILE_READ, `no test files (*.test.json) in ${paths.join(', ')}`, { details: { file: paths[0] } });
  return out;
}

function printText(ctx: CliContext, report: TestReport, fileCount: number, show: (f: string) => string): void {
  let current = '';
  for (const c of report.cases) {
    if (c.file !== current) {
      if (current) println(ctx.stdout);
      current = c.file;
      println(ctx.stdout, c.file);
    }
    println(ctx.stdout, `  ${c.passed ? OK : FAIL} ${c.name}${c.passed ? '' : `  (${c.file}:${c.line ?? 1})`}`);
    for (const f of c.failures) {
      println(ctx.stdout, `      ${f.what}: ${f.message}`);
      if (f.diff) for (const l of formatDiff(f.diff, '        ')) println(ctx.stdout, l);
    }
  }
  println(ctx.stdout);
  println(ctx.stdout, `${report.failed ? FAIL : OK} ${report.passed} passed, ${report.failed} failed (${plural(report.cases.length, 'case')} in ${plural(fileCount, 'file')})`);
  if (report.coverage) printCoverage(ctx, report.coverage, show);
}

function printCoverage(ctx: CliContext, cov: CoverageReport, show: (f: string) => string): void {
  const t = cov.totals;
  const mark = (o: { true: number; false: number }) => (o.true > 0 && o.false > 0 ? OK : FAIL);
  const missing = (o: { true: number; false: number }) => (o.true === 0 && o.false === 0 ? '  never evaluated' : o.true === 0 ? '  never true' : o.false === 0 ? '  never false' : '');
  println(ctx.stdout);
  println(
    ctx.stdout,
    `coverage: ${t.percent}% — rules ${t.rules.covered}/${t.rules.total} outcomes, conditions ${t.conditions.covered}/${t.conditions.total} outcomes, mapping branches ${t.branches.covered}/${t.branches.total}`,
  );
  println(ctx.stdout, '  rules (true/false: how many test records made it so)');
  const rows: string[][] = [];
  for (const r of cov.rules) {
    rows.push([`${mark(r)} ${r.name}`, `true ${r.true}`, `false ${r.false}`, `${show(r.file)}:${r.line ?? 1}${missing(r)}`]);
    for (const c of r.conditions) rows.push([`    ${mark(c)} ${c.at}  ${c.label}`, `true ${c.true}`, `false ${c.false}`, missing(c).trim()]);
  }
  for (const l of table(rows, '    ', 'lrrl')) println(ctx.stdout, l);
  println(ctx.stdout, '  mappings (runs per accepted test record; "? :" branches evaluated on each)');
  const mrows: string[][] = [];
  for (const m of cov.mappings) {
    mrows.push([`${m.ran > 0 ? OK : FAIL} ${m.target}/${m.type}`, `ran ${m.ran}`, '', '']);
    for (const b of m.branches) {
      const where = `${show(m.file)}:${b.line ?? 1}:${b.column ?? 1}`;
      if (!b.traced) mrows.push([`    ? ${b.condition}`, 'not traced', '', where]);
      else mrows.push([`    ${b.then > 0 && (!b.hasElse || b.else > 0) ? OK : FAIL} ? ${b.condition}`, `then ${b.then}`, b.hasElse ? `else ${b.else}` : '', where]);
    }
  }
  for (const l of table(mrows, '    ', 'lrrl')) println(ctx.stdout, l);
  println(ctx.stdout, '  codes (test records that got each)');
  const crow = Object.entries(cov.codes).map(([code, n]) => [`${n > 0 ? OK : FAIL} ${code}`, String(n)]);
  for (const l of table(crow, '    ', 'lr')) println(ctx.stdout, l);
}
