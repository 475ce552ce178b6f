/**
 * `lint` as a library function: pure over the files of a ruleset (paths `rules/...` and `mappings/...`
 * with their text), so the CLI, CI and the admin panel all get the same findings.
 */
import { posix } from 'node:path';
import { parseRuleset } from '../core/ruleset/parse-ruleset.ts';
import { compileSchemas } from '../core/schema/compile-schemas.ts';
import { createSchemaWalker } from '../core/schema/walk-schema.ts';
import { locatePointer } from '../core/ruleset/locate.ts';
import { ErrorCodes, RulesetError } from '../errors.ts';
import { parseFiles, classify, checkFileSchemas, unusedFiles, MANIFEST, type ParsedFiles, type LintFileKind } from './files.ts';
import { checkRulesFiles } from './rule-checks.ts';
import { analyseRules, createModel, type RulesetModel } from './rule-analysis.ts';
import { checkMappingFiles } from './mapping-checks.ts';
import { problem, type CheckId, type LintProblem } from './types.ts';
import type { Ruleset, RulesetFile } from '../core/ruleset/types.ts';

export interface LintReport {
  problems: LintProblem[];
  errors: number;
  warnings: number;
  /** Files looked at. */
  files: number;
  /** The version of the ruleset, when it loads. */
  rulesetVersion?: string;
}

const CHECK_OF_CODE: Record<string, CheckId> = {
  [ErrorCodes.JSON_PARSE]: 'json-syntax',
  [ErrorCodes.FILE_INVALID]: 'file-schema',
  [ErrorCodes.CSV_PARSE]: 'file-schema',
  [ErrorCodes.SCHEMA_COMPILE]: 'schema-compile',
  [ErrorCodes.RULE_INVALID]: 'invalid-condition',
  [ErrorCodes.MAPPING_SYNTAX]: 'mapping-syntax',
  [ErrorCodes.RULESET_REFERENCE]: 'missing-file',
  [ErrorCodes.FILE_READ]: 'missing-file',
};

export function lintFiles(files: RulesetFile[]): LintReport {
  const out: LintProblem[] = [];
  const parsed = parseFiles(files, out);
  const kinds = classify(parsed);
  checkFileSchemas(parsed, kinds, out);
  checkRulesFiles(parsed, kinds, out);
  checkTestFiles(parsed, kinds, out);

  // Loading stops at its first problem; keep it when our own checks have not already said it.
  let ruleset: Ruleset | undefined;
  let loadError: LintProblem | undefined;
  try {
    ruleset = parseRuleset(files);
  } catch (e) {
    if (!(e instanceof RulesetError)) throw e;
    const file = typeof e.details.file === 'string' ? e.details.file : MANIFEST;
    loadError = problem(CHECK_OF_CODE[e.code] ?? 'file-schema', file, e.details, e.message.replace(/^\S+?(:\d+)*: /, ''));
  }
  let model: RulesetModel | undefined;
  if (ruleset) {
    try {
      const compiled = compileSchemas(ruleset);
      for (const [type, reason] of Object.entries(compiled.slow)) {
        const file = ruleset.types[type]!.schema;
        out.push(problem('slow-schema', file, undefined, `${type}: ajv alone checks this type's records: the fast check does not take ${reason}`));
      }
      model = createModel(ruleset, createSchemaWalker(ruleset.schemas));
    } catch (e) {
      if (!(e instanceof RulesetError)) throw e;
      out.push(problem('schema-compile', String(e.details.file ?? MANIFEST), undefined, e.message.replace(/^\S+: /, '')));
    }
  }
  const { variablesUsed } = checkMappingFiles(parsed, kinds, model, out);
  if (model) {
    const { factsUsed } = analyseRules(model, out);
    unusedLookups(model, parsed, factsUsed, variablesUsed, out);
  }
  unusedFiles(parsed, kinds, out);
  if (loadError && !out.some((p) => p.file === loadError.file && p.severity === 'error')) out.push(loadError);

  const seen = new Set<string>();
  const problems = out
    .filter((p) => {
      const k = `${p.file}:${p.line}:${p.column}:${p.check}:${p.message}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column));
  return {
    problems,
    errors: problems.filter((p) => p.severity === 'error').length,
    warnings: problems.filter((p) => p.severity === 'warning').length,
    files: files.length,
    rulesetVersion: ruleset?.version,
  };
}

/** The checks that need a loaded ruleset (paths, never-fires, unused tables and facts), for callers that have one. */
export function lintRuleset(ruleset: Ruleset): LintReport {
  return lintFiles(ruleset.files);
}

function unusedLookups(model: RulesetModel, parsed: ParsedFiles, factsUsed: Set<string>, variablesUsed: Set<string>, out: LintProblem[]): void {
  const { ruleset } = model;
  const text = parsed.text.get(MANIFEST) ?? '';
  const looked = new Set(Object.values(ruleset.facts).map((f) => f.lookup));
  for (const name of Object.keys(ruleset.reference)) {
    if (!looked.has(name)) out.push(problem('unused-reference', MANIFEST, locatePointer(text, `/reference/${name}`), `reference table "${name}" is not looked up by any fact (add one under "facts")`));
  }
  for (const name of Object.keys(ruleset.facts)) {
    if (!factsUsed.has(name) && !variablesUsed.has(name)) {
      out.push(problem('unused-fact', MANIFEST, locatePointer(text, `/facts/${name}`), `lookup fact "${name}" is not used by any rule or mapping`));
    }
  }
}

/** A test case's recordFile inside the ruleset must exist (files outside it are checked when the test runs). */
function checkTestFiles(parsed: ParsedFiles, kinds: Map<string, LintFileKind>, out: LintProblem[]): void {
  for (const [file, kind] of kinds) {
    if (kind !== 'test') continue;
    const cases = (parsed.json.get(file) as { cases?: { recordFile?: unknown }[] } | undefined)?.cases;
    if (!Array.isArray(cases)) continue;
    cases.forEach((c, i) => {
      if (!c || typeof c.recordFile !== 'string') return;
      const target = posix.normalize(posix.join(posix.dirname(file), c.recordFile));
      if ((target.startsWith('rules/') || target.startsWith('mappings/')) && !parsed.text.has(target)) {
        out.push(problem('missing-file', file, locatePointer(parsed.text.get(file)!, `/cases/${i}/recordFile`), `recordFile ${c.recordFile} does not exist`));
      }
    });
  }
}
