/** Static checks of a ruleset: see lint.ts. */
export { lintFiles, lintRuleset, type LintReport } from './lint.ts';
export { CHECKS, formatProblem, type CheckId, type LintProblem, type Severity } from './types.ts';
