/**
 * Runs ruleset test fixtures (rules/tests/*.test.json, schemas/test.schema.json): each case is a record,
 * a frozen "now" and the expected verdict, codes and/or output. Pure over the pipeline and the files'
 * text; the caller reads the files (and any recordFile) however it likes.
 */
import { posix } from 'node:path';
import { parseJsonFile, locatePointer } from '../core/ruleset/locate.ts';
import { assertFile } from '../core/ruleset/file-schemas.ts';
import { parseTime } from '../core/facts.ts';
import { jsonDiff, type DiffEntry } from './json-diff.ts';
import { createCoverage, type CoverageReport } from './coverage.ts';
import type { Pipeline } from '../pipeline.ts';
import type { PipelineResult, Verdict } from '../types.ts';

export interface TestCase {
  name: string;
  now?: string;
  record?: unknown;
  recordFile?: string;
  target?: string;
  expect: { verdict: Verdict; codes?: string[]; output?: unknown; match?: 'exact' | 'partial' };
}

export interface TestFile {
  path: string;
  now?: string;
  cases: TestCase[];
  /** Line of each case, for reports. */
  lines: (number | undefined)[];
}

export interface TestFailure {
  what: 'verdict' | 'codes' | 'output' | 'record' | 'now';
  message: string;
  diff?: DiffEntry[];
}

export interface CaseResult {
  file: string;
  name: string;
  line?: number;
  passed: boolean;
  failures: TestFailure[];
  /** What the pipeline said (absent when the case could not run). */
  result?: PipelineResult;
}

export interface TestReport {
  cases: CaseResult[];
  passed: number;
  failed: number;
  coverage?: CoverageReport;
}

/** Parses and checks a test file against schemas/test.schema.json; throws a RulesetError with file:line:column. */
export function parseTestFile(path: string, text: string): TestFile {
  const value = parseJsonFile(path, text);
  assertFile('test', path, text, value);
  const v = value as { now?: string; cases: TestCase[] };
  return { path, now: v.now, cases: v.cases, lines: v.cases.map((_, i) => locatePointer(text, `/cases/${i}`)?.line) };
}

export interface RunTestsOptions {
  /** "now" for cases and files that give none (epoch ms). */
  defaultNow: number;
  /** Reads a case's recordFile; `path` is resolved against the test file's folder (posix). */
  readRecordFile(path: string): Promise<string> | string;
  /** Collect rule, condition and mapping-branch coverage. */
  coverage?: boolean;
}

export async function runTests(pipeline: Pipeline, files: TestFile[], options: RunTestsOptions): Promise<TestReport> {
  const coverage = options.coverage ? createCoverage(pipeline.ruleset) : undefined;
  const cases: CaseResult[] = [];
  for (const file of files) {
    for (let i = 0; i < file.cases.length; i++) {
      const c = file.cases[i];
      const res: CaseResult = { file: file.path, name: c.name, line: file.lines[i], passed: false, failures: [] };
      cases.push(res);
      const nowText = c.now ?? file.now;
      const now = nowText !== undefined ? parseTime(nowText) : options.defaultNow;
      if (!Number.isFinite(now)) {
        res.failures.push({ what: 'now', message: `"now" is not an RFC 3339 time: ${JSON.stringify(nowText)}` });
        continue;
      }
      let record = c.record;
      if (record === undefined && c.recordFile !== undefined) {
        const path = posix.join(posix.dirname(file.path), c.recordFile);
        try {
          record = parseJsonFile(path, await options.readRecordFile(path));
        } catch (e) {
          res.failures.push({ what: 'record', message: `cannot read recordFile ${c.recordFile}: ${(e as Error).message}` });
          continue;
        }
      }
      let result: PipelineResult;
      if (coverage) {
        const exp = await pipeline.explain(record, { now });
        result = exp.result;
        await coverage.add(exp, record, now);
      } else result = await pipeline.process(record, { now });
      res.result = result;
      res.failures = check(c, result, c.target ?? pipeline.ruleset.defaultTarget);
      res.passed = res.failures.length === 0;
    }
  }
  const passed = cases.filter((c) => c.passed).length;
  return { cases, passed, failed: cases.length - passed, coverage: coverage?.report() };
}

export function codesOf(result: PipelineResult): string[] {
  if (result.verdict === 'rejected') return [...new Set(result.errors.map((e) => e.code))].sort();
  if (result.verdict === 'skipped') return [result.code];
  return [];
}

function check(c: TestCase, result: PipelineResult, target: string): TestFailure[] {
  const failures: TestFailure[] = [];
  const e = c.expect;
  const codes = codesOf(result);
  if (result.verdict !== e.verdict) {
    const why =
      result.verdict === 'rejected'
        ? `: ${result.errors.map((x) => `${x.code} ${x.message}`).join('; ')}`
        : result.verdict === 'skipped'
          ? `: ${result.code} ${result.message}`
          : '';
    failures.push({ what: 'verdict', message: `expected ${e.verdict}, got ${result.verdict}${why}` });
  }
  if (e.codes) {
    const want = [...new Set(e.codes)].sort();
    if (want.join('\0') !== codes.join('\0')) failures.push({ what: 'codes', message: `expected ${JSON.stringify(want)}, got ${JSON.stringify(codes)}` });
  }
  if (e.output !== undefined) {
    if (result.verdict !== 'accepted') failures.push({ what: 'output', message: `expected an output, but the record was ${result.verdict}` });
    else if (!Object.hasOwn(result.outputs, target)) failures.push({ what: 'output', message: `no output for target "${target}" (targets: ${Object.keys(result.outputs).join(', ')})` });
    else {
      const diff = jsonDiff(e.output, result.outputs[target], { partial: e.match === 'partial' });
      if (diff.length) failures.push({ what: 'output', message: `${e.match === 'partial' ? 'partial ' : ''}output of target "${target}" differs`, diff });
    }
  }
  return failures;
}
