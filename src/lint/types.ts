export type Severity = 'error' | 'warning';

/** One finding of `lint`, pointing at a place in a ruleset file (`rules/...` or `mappings/...`). */
export interface LintProblem {
  file: string;
  line: number;
  column: number;
  severity: Severity;
  message: string;
  check: CheckId;
}

/** Every check, its severity and what it finds. docs/reference/cli.md lists them from here. */
export const CHECKS = {
  'json-syntax': { severity: 'error', about: 'the file is not valid JSON' },
  'file-schema': { severity: 'error', about: "the file does not match its kind's JSON Schema (schemas/*.schema.json)" },
  'schema-compile': { severity: 'error', about: 'a record JSON Schema does not compile (ajv strict mode: misspelt keywords, bad $ref)' },
  'missing-file': { severity: 'error', about: 'the manifest (or a test) names a file, table or type that does not exist' },
  'unknown-operator': { severity: 'error', about: 'a condition uses an operator json-rules-engine does not have' },
  'unknown-fact': { severity: 'error', about: 'a condition uses a fact that is neither built in nor declared in the manifest' },
  'unknown-condition': { severity: 'error', about: 'a rule refers to a shared condition no rules file defines' },
  'invalid-condition': { severity: 'error', about: 'a condition value the operator cannot use (in/notIn without an array, a bad regular expression)' },
  'duplicate-rule': { severity: 'error', about: 'two rules (or shared conditions) have the same name' },
  'mapping-syntax': { severity: 'error', about: 'a JSONata expression does not parse' },
  'mapping-target': { severity: 'error', about: 'a mapping is in the wrong folder, for an unknown type, or a second one for the same target and type' },
  'unknown-path': { severity: 'warning', about: "a rule or mapping reads a record field that the type's JSON Schema cannot produce" },
  'unknown-column': { severity: 'warning', about: 'a rule or mapping reads a column that no row of the looked-up reference table has' },
  'unknown-annotation': { severity: 'warning', about: "a mapping reads $annotations.<type>(.<param>) that no rule of the record's type emits" },
  'unknown-variable': { severity: 'warning', about: 'a mapping reads a $variable that is not a binding (lookup facts, $annotations, $now, $time_ms) nor defined in the expression' },
  'slow-schema': { severity: 'warning', about: "a type's record schema uses something the fast schema check does not compile, so ajv alone checks every record of that type (slower)" },
  'never-fires': { severity: 'warning', about: "a rule's conditions can never all hold (contradictory conditions, a value outside the field's enum, type or range)" },
  'unused-reference': { severity: 'warning', about: 'a reference table no fact looks up' },
  'unused-fact': { severity: 'warning', about: 'a lookup fact no rule or mapping uses' },
  'unused-condition': { severity: 'warning', about: 'a shared condition no rule refers to' },
  'unused-file': { severity: 'warning', about: 'a file under rules/ that nothing loads (not in the manifest, not $ref-ed, not a test or a test record)' },
} as const satisfies Record<string, { severity: Severity; about: string }>;

export type CheckId = keyof typeof CHECKS;

export function problem(check: CheckId, file: string, at: { line?: number; column?: number } | undefined, message: string): LintProblem {
  return { file, line: at?.line ?? 1, column: at?.column ?? 1, severity: CHECKS[check].severity, message, check };
}

/** `file:line:column: severity: message [check-id]` */
export function formatProblem(p: LintProblem, displayPath: (file: string) => string = (f) => f): string {
  return `${displayPath(p.file)}:${p.line}:${p.column}: ${p.severity}: ${p.message} [${p.check}]`;
}

/** Closest candidate within a small edit distance, for "did you mean" hints. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 4)) + 1;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

export function didYouMean(word: string, candidates: Iterable<string>): string {
  const s = suggest(word, candidates);
  return s ? ` (did you mean "${s}"?)` : '';
}

function distance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[n];
}
