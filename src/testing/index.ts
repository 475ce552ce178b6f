/** Ruleset test fixtures: run them, diff outputs, measure coverage. */
export { parseTestFile, runTests, codesOf, type TestFile, type TestCase, type CaseResult, type TestFailure, type TestReport, type RunTestsOptions } from './run-tests.ts';
export { jsonDiff, formatDiff, type DiffEntry } from './json-diff.ts';
export { createCoverage, type CoverageReport, type RuleCoverage, type ConditionCoverage, type MappingCoverage, type BranchCoverage } from './coverage.ts';
export { findConditionals } from './mapping-branches.ts';
