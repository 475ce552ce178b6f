/** A file of a ruleset, as read from rules/ or mappings/ (path is posix, relative, prefixed `rules/` or `mappings/`). */
export interface RulesetFile {
  path: string;
  content: string;
}

export interface Manifest {
  name: string;
  description?: string;
  envelope?: string;
  schemas?: string[];
  reference?: Record<string, { file: string; key?: string }>;
  facts?: Record<string, { lookup: string; key: string }>;
  rules?: string[];
  types: Record<string, { schema: string; rules?: string[] }>;
  unknownType?: { code: string; message: string };
  defaultTarget?: string;
}

/** json-rules-engine condition JSON. */
export interface ConditionJson {
  all?: ConditionJson[];
  any?: ConditionJson[];
  not?: ConditionJson;
  condition?: string;
  fact?: string;
  path?: string;
  operator?: string;
  value?: unknown;
  params?: Record<string, unknown>;
  priority?: number;
  name?: string;
}

export interface RuleJson {
  name: string;
  description?: string;
  priority?: number;
  conditions: ConditionJson;
  event: { type: string; params?: Record<string, unknown> };
}

/** A rule with where it came from, so every explanation can point at the file. */
export interface RuleDef extends RuleJson {
  file: string;
  /** JSON pointer of the rule inside its file. */
  pointer: string;
}

export interface MappingDef {
  target: string;
  type: string;
  expression: string;
  file: string;
}

export interface ReferenceTable {
  key: string;
  file: string;
  rows: Record<string, unknown>[];
}

/** A parsed, validated ruleset: plain data, no compiled code. `createPipeline` compiles it. */
export interface Ruleset {
  /** sha256 of every file's path and content: the identity of these exact rules. */
  version: string;
  name: string;
  manifest: Manifest;
  /** Every record JSON Schema, by file path. */
  schemas: Record<string, Record<string, unknown>>;
  /** Shared conditions from every rules file, by name. */
  conditions: Record<string, ConditionJson>;
  /** Rules that run for every type. */
  commonRules: RuleDef[];
  types: Record<string, { schema: string; rules: RuleDef[] }>;
  envelope: string | undefined;
  reference: Record<string, ReferenceTable>;
  facts: Record<string, { lookup: string; key: string }>;
  /** mappings[target][type] */
  mappings: Record<string, Record<string, MappingDef>>;
  defaultTarget: string;
  unknownType: { code: string; message: string };
  files: RulesetFile[];
}
