import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import type { ErrorObject, ValidateFunction } from 'ajv';
import manifestSchema from '../../../schemas/manifest.schema.json' with { type: 'json' };
import rulesSchema from '../../../schemas/rules.schema.json' with { type: 'json' };
import referenceSchema from '../../../schemas/reference.schema.json' with { type: 'json' };
import mappingSchema from '../../../schemas/mapping.schema.json' with { type: 'json' };
import testSchema from '../../../schemas/test.schema.json' with { type: 'json' };
import { RulesetError, ErrorCodes } from '../../errors.ts';
import { locatePointer } from './locate.ts';

// ajv-formats is CommonJS; its default export arrives wrapped under some loaders.
const addFormats = ((addFormatsImport as any).default ?? addFormatsImport) as (ajv: Ajv2020) => Ajv2020;

/** The kinds of file a ruleset is made of; each has a JSON Schema shipped in the package's schemas/. */
export const FILE_SCHEMAS = {
  manifest: manifestSchema,
  rules: rulesSchema,
  reference: referenceSchema,
  mapping: mappingSchema,
  test: testSchema,
} as const;
export type FileKind = keyof typeof FILE_SCHEMAS;

let validators: Record<FileKind, ValidateFunction> | undefined;

function getValidators(): Record<FileKind, ValidateFunction> {
  if (!validators) {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(ajv);
    validators = Object.fromEntries(
      Object.entries(FILE_SCHEMAS).map(([kind, schema]) => [kind, ajv.compile(schema as object)]),
    ) as Record<FileKind, ValidateFunction>;
  }
  return validators;
}

export interface FileProblem {
  file: string;
  path: string;
  line?: number;
  column?: number;
  message: string;
}

/** Checks a parsed file against its kind's JSON Schema; returns every problem with its position. */
export function checkFile(kind: FileKind, file: string, text: string, value: unknown): FileProblem[] {
  const validate = getValidators()[kind];
  if (validate(value)) return [];
  return simplifyErrors(validate.errors ?? []).map((e) => {
    const pointer = e.keyword === 'additionalProperties' ? `${e.instancePath}/${(e.params as any).additionalProperty}` : e.instancePath;
    const pos = locatePointer(text, pointer);
    return { file, path: pointer || '/', ...pos, message: describeError(e) };
  });
}

/** Throws a RulesetError naming the first problem (and counting the rest). */
export function assertFile(kind: FileKind, file: string, text: string, value: unknown): void {
  const problems = checkFile(kind, file, text, value);
  if (problems.length === 0) return;
  const first = problems[0];
  const where = first.line ? `${file}:${first.line}:${first.column}` : file;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  throw new RulesetError(ErrorCodes.FILE_INVALID, `${where}: ${first.path} ${first.message}${more}`, {
    details: { file, path: first.path, line: first.line, column: first.column, problems },
  });
}

function describeError(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return `has an unknown property "${String(p.additionalProperty)}"`;
    case 'required':
      return `is missing the required property "${String(p.missingProperty)}"`;
    case 'enum':
      return `must be one of ${JSON.stringify(p.allowedValues)}`;
    default:
      return e.message ?? e.keyword;
  }
}

/**
 * oneOf/anyOf failures make ajv report every branch's complaint; a rule author wants the one that matters.
 * Keep the deepest errors (the most specific path) and drop the umbrella ones.
 */
function simplifyErrors(errors: ErrorObject[]): ErrorObject[] {
  const specific = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && e.keyword !== 'if' && e.keyword !== 'not');
  const list = specific.length > 0 ? specific : errors;
  const maxDepth = Math.max(...list.map((e) => e.instancePath.split('/').length));
  const deepest = list.filter((e) => e.instancePath.split('/').length === maxDepth);
  const seen = new Set<string>();
  return deepest.filter((e) => {
    const k = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
