// Public API of the bilhetagem library. Importing it loads no server, driver or native module.
export { loadRuleset, readRulesetFiles, type LoadRulesetOptions } from './loaders/load-ruleset.ts';
export { parseRuleset, rulesetVersion } from './core/ruleset/parse-ruleset.ts';
export { createPipeline, createReferencePipeline, PIPELINE_DEFAULTS, type Pipeline, type PipelineOptions } from './pipeline.ts';
export type { Explanation } from './core/pipeline.ts';
export type { ConditionNodeTrace, LeafTrace } from './core/rules/compile-rules.ts';
export type { Ruleset, RulesetFile, Manifest, RuleDef, RuleJson, ConditionJson, MappingDef, ReferenceTable } from './core/ruleset/types.ts';
export { BilhetagemError, RulesetError, OptionsError, ErrorCodes, type ErrorCode, type ErrorDetails } from './errors.ts';
export { PipelineCodes } from './core/codes.ts';
export { FILE_SCHEMAS, checkFile, type FileKind, type FileProblem } from './core/ruleset/file-schemas.ts';
export { parseTime, BUILTIN_FACTS } from './core/facts.ts';
export { OPERATOR_NAMES, DECORATOR_NAMES } from './core/rules/operators.ts';
export type {
  UsageRecord,
  PipelineResult,
  AcceptedResult,
  SkippedResult,
  RejectedResult,
  RejectionError,
  ConditionTrace,
  Annotation,
  Verdict,
  ProcessOptions,
} from './types.ts';
