/** Compare two rulesets on the same records: see compare.ts; read a base ruleset from git: see git.ts. */
export { createBacktest, decisionOf, type Backtest, type BacktestReport, type BacktestOptions, type BacktestSample, type Transition, type FieldChange } from './compare.ts';
export { readRulesetFilesAtRef, isGitRef } from './git.ts';
