import { createHash } from 'node:crypto';
import { parse as parseCsv } from 'csv-parse/sync';
import jsonata from 'jsonata';
import { RulesetError, ErrorCodes } from '../../errors.ts';
import { parseJsonFile, locatePointer, positionAt } from './locate.ts';
import { assertFile } from './file-schemas.ts';
import { BUILTIN_FACTS } from '../facts.ts';
import { resolveOperator } from '../rules/operators.ts';
import type { ConditionJson, Manifest, MappingDef, ReferenceTable, RuleDef, RuleJson, Ruleset, RulesetFile } from './types.ts';

export const MANIFEST_PATH = 'rules/manifest.json';

/**
 * Turns the files of a ruleset into a validated Ruleset. Pure: the caller reads the files (from disk, from
 * the database for a stored version, from a test). Every problem is a RulesetError that names the file, the
 * JSON path and, where it can, line and column.
 */
export function parseRuleset(input: RulesetFile[]): Ruleset {
  const files = [...input].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const byPath = new Map(files.map((f) => [f.path, f]));
  const json = new Map<string, unknown>();
  const read = (path: string, from?: { file: string; pointer: string }): { text: string; value: unknown } => {
    const f = byPath.get(path);
    if (!f) {
      const where = from ? locate(from.file, from.pointer) : {};
      throw new RulesetError(ErrorCodes.RULESET_REFERENCE, `${from ? `${describe(from.file, where)}: ` : ''}file ${path} does not exist`, {
        details: { file: from?.file ?? path, path: from?.pointer, ...where, missing: path },
      });
    }
    if (!json.has(path) && !path.endsWith('.csv')) json.set(path, parseJsonFile(path, f.content));
    return { text: f.content, value: json.get(path) };
  };
  const locate = (file: string, pointer: string) => {
    const f = byPath.get(file);
    return (f && locatePointer(f.content, pointer)) ?? {};
  };

  const m = read(MANIFEST_PATH);
  assertFile('manifest', MANIFEST_PATH, m.text, m.value);
  const manifest = m.value as Manifest;
  const inRules = (p: string) => `rules/${p.replace(/^\.\//, '')}`;

  // Record schemas: every *.schema.json under rules/ is registered, so schemas can $ref each other.
  const schemas: Record<string, Record<string, unknown>> = {};
  for (const f of files) {
    if (f.path.startsWith('rules/') && f.path.endsWith('.schema.json')) {
      const v = read(f.path).value;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        throw new RulesetError(ErrorCodes.FILE_INVALID, `${f.path}: a JSON Schema must be an object`, { details: { file: f.path, path: '/' } });
      }
      schemas[f.path] = v as Record<string, unknown>;
    }
  }
  const schemaRef = (p: string, pointer: string): string => {
    const path = inRules(p);
    read(path, { file: MANIFEST_PATH, pointer });
    return path;
  };

  // Reference data.
  const reference: Record<string, ReferenceTable> = {};
  for (const [name, def] of Object.entries(manifest.reference ?? {})) {
    const path = inRules(def.file);
    const key = def.key ?? 'id';
    const { text, value } = read(path, { file: MANIFEST_PATH, pointer: `/reference/${name}/file` });
    let rows: Record<string, unknown>[];
    if (path.endsWith('.csv')) {
      try {
        rows = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Record<string, unknown>[];
      } catch (cause) {
        const e = cause as { lines?: number; message: string };
        throw new RulesetError(ErrorCodes.CSV_PARSE, `${path}${e.lines ? `:${e.lines}` : ''}: ${e.message}`, { cause, details: { file: path, line: e.lines } });
      }
    } else {
      assertFile('reference', path, text, value);
      rows = (value as { rows: Record<string, unknown>[] }).rows;
    }
    const seen = new Set<string>();
    rows.forEach((row, i) => {
      const k = row[key];
      const pointer = path.endsWith('.csv') ? '' : `/rows/${i}`;
      const at = path.endsWith('.csv') ? { line: i + 2 } : locate(path, pointer);
      if (typeof k !== 'string' && typeof k !== 'number') {
        throw new RulesetError(ErrorCodes.FILE_INVALID, `${describe(path, at)}: row ${i} has no "${key}" (the table's key)`, { details: { file: path, path: pointer, ...at } });
      }
      if (seen.has(String(k))) {
        throw new RulesetError(ErrorCodes.FILE_INVALID, `${describe(path, at)}: key "${String(k)}" appears twice`, { details: { file: path, path: pointer, ...at } });
      }
      seen.add(String(k));
    });
    reference[name] = { key, file: path, rows };
  }

  const facts = manifest.facts ?? {};
  for (const [name, def] of Object.entries(facts)) {
    if (!reference[def.lookup]) {
      const pointer = `/facts/${name}/lookup`;
      const at = locate(MANIFEST_PATH, pointer);
      throw new RulesetError(ErrorCodes.RULESET_REFERENCE, `${describe(MANIFEST_PATH, at)}: fact "${name}" looks up "${def.lookup}", which is not in "reference"`, {
        details: { file: MANIFEST_PATH, path: pointer, ...at },
      });
    }
  }
  const factNames = new Set<string>([...BUILTIN_FACTS, ...Object.keys(facts)]);

  // Rules.
  const conditions: Record<string, ConditionJson> = {};
  const ruleNames = new Map<string, string>();
  const ruleFileCache = new Map<string, RuleDef[]>();
  const loadRules = (p: string, pointer: string): RuleDef[] => {
    const path = inRules(p);
    const cached = ruleFileCache.get(path);
    if (cached) return cached;
    const { text, value } = read(path, { file: MANIFEST_PATH, pointer });
    assertFile('rules', path, text, value);
    const file = value as { rules: RuleJson[]; conditions?: Record<string, ConditionJson> };
    for (const [name, cond] of Object.entries(file.conditions ?? {})) {
      if (Object.hasOwn(conditions, name)) {
        const at = locate(path, `/conditions/${name}`);
        throw new RulesetError(ErrorCodes.RULE_INVALID, `${describe(path, at)}: shared condition "${name}" is defined twice`, { details: { file: path, path: `/conditions/${name}`, ...at } });
      }
      conditions[name] = cond;
    }
    const defs = file.rules.map((r, i) => {
      const rp = `/rules/${i}`;
      const other = ruleNames.get(r.name);
      if (other !== undefined) {
        const at = locate(path, `${rp}/name`);
        throw new RulesetError(ErrorCodes.RULE_INVALID, `${describe(path, at)}: rule name "${r.name}" is already used in ${other}`, { details: { file: path, path: `${rp}/name`, ...at } });
      }
      ruleNames.set(r.name, path);
      return { ...r, file: path, pointer: rp };
    });
    ruleFileCache.set(path, defs);
    return defs;
  };
  const commonRules = (manifest.rules ?? []).flatMap((p, i) => loadRules(p, `/rules/${i}`));
  const types: Ruleset['types'] = {};
  for (const [type, def] of Object.entries(manifest.types)) {
    types[type] = {
      schema: schemaRef(def.schema, `/types/${type}/schema`),
      rules: (def.rules ?? []).flatMap((p, i) => loadRules(p, `/types/${type}/rules/${i}`)),
    };
  }
  const envelope = manifest.envelope ? schemaRef(manifest.envelope, '/envelope') : undefined;
  for (const rules of [commonRules, ...Object.values(types).map((t) => t.rules)]) {
    for (const rule of rules) checkCondition(rule.conditions, rule.file, `${rule.pointer}/conditions`, { factNames, conditions, locate });
  }
  for (const [name, cond] of Object.entries(conditions)) {
    const file = [...ruleFileCache.keys()].find((p) => (json.get(p) as any)?.conditions?.[name] === cond) ?? MANIFEST_PATH;
    checkCondition(cond, file, `/conditions/${name}`, { factNames, conditions, locate });
  }

  // Mappings: mappings/<target>/<anything>.json, one per (target, type).
  const mappings: Record<string, Record<string, MappingDef>> = {};
  for (const f of files) {
    if (!f.path.startsWith('mappings/') || !f.path.endsWith('.json')) continue;
    const parts = f.path.split('/');
    const { text, value } = read(f.path);
    assertFile('mapping', f.path, text, value);
    const def = value as { target: string; type: string; expression: string | string[] };
    const folderTarget = parts.length >= 3 ? parts[1] : undefined;
    if (folderTarget !== def.target) {
      const at = locate(f.path, '/target');
      throw new RulesetError(ErrorCodes.FILE_INVALID, `${describe(f.path, at)}: target "${def.target}" must match the folder it is in (mappings/${def.target}/)`, {
        details: { file: f.path, path: '/target', ...at },
      });
    }
    if (!Object.hasOwn(types, def.type)) {
      const at = locate(f.path, '/type');
      throw new RulesetError(ErrorCodes.RULESET_REFERENCE, `${describe(f.path, at)}: type "${def.type}" is not a type of the manifest`, { details: { file: f.path, path: '/type', ...at } });
    }
    const byType = (mappings[def.target] ??= {});
    if (byType[def.type]) {
      throw new RulesetError(ErrorCodes.FILE_INVALID, `${f.path}: a mapping for ${def.target}/${def.type} is already in ${byType[def.type].file}`, { details: { file: f.path, path: '/type' } });
    }
    const expression = Array.isArray(def.expression) ? def.expression.join('\n') : def.expression;
    checkJsonata(expression, f.path, text);
    byType[def.type] = { target: def.target, type: def.type, expression, file: f.path };
  }
  const defaultTarget = manifest.defaultTarget ?? 'default';
  for (const type of Object.keys(types)) {
    if (!mappings[defaultTarget]?.[type]) {
      throw new RulesetError(ErrorCodes.RULESET_REFERENCE, `mappings/${defaultTarget}/: no mapping for type "${type}" (every type needs one for the default target "${defaultTarget}")`, {
        details: { file: `mappings/${defaultTarget}/`, type },
      });
    }
  }

  return {
    version: rulesetVersion(files),
    name: manifest.name,
    manifest,
    schemas,
    conditions,
    commonRules,
    types,
    envelope,
    reference,
    facts,
    mappings,
    defaultTarget,
    unknownType: manifest.unknownType ?? { code: 'UNKNOWN_TYPE', message: 'No record type of this name is configured' },
    files,
  };
}

/** Test fixtures do not change any decision, so they are not part of the version. */
export function isVersionedFile(path: string): boolean {
  return !path.startsWith('rules/tests/') && !path.endsWith('.test.json');
}

/** sha256 over every decision-making file's path and bytes, in path order: "sha256:<first 16 hex>". */
export function rulesetVersion(files: RulesetFile[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    if (!isVersionedFile(f.path)) continue;
    h.update(f.path);
    h.update('\0');
    h.update(f.content);
    h.update('\0');
  }
  return `sha256:${h.digest('hex').slice(0, 16)}`;
}

function describe(file: string, at: { line?: number; column?: number }): string {
  return at.line ? `${file}:${at.line}${at.column ? `:${at.column}` : ''}` : file;
}

interface CheckContext {
  factNames: Set<string>;
  conditions: Record<string, ConditionJson>;
  locate: (file: string, pointer: string) => { line?: number; column?: number };
}

function checkCondition(c: ConditionJson, file: string, pointer: string, ctx: CheckContext): void {
  const fail = (sub: string, message: string) => {
    const at = ctx.locate(file, pointer + sub);
    throw new RulesetError(ErrorCodes.RULE_INVALID, `${describe(file, at)}: ${message}`, { details: { file, path: pointer + sub, ...at } });
  };
  if (c.all) c.all.forEach((s, i) => checkCondition(s, file, `${pointer}/all/${i}`, ctx));
  else if (c.any) c.any.forEach((s, i) => checkCondition(s, file, `${pointer}/any/${i}`, ctx));
  else if (c.not) checkCondition(c.not, file, `${pointer}/not`, ctx);
  else if (c.condition !== undefined) {
    if (!Object.hasOwn(ctx.conditions, c.condition)) fail('/condition', `shared condition "${c.condition}" is not defined in any rules file's "conditions"`);
  } else {
    if (!ctx.factNames.has(c.fact!)) fail('/fact', `unknown fact "${c.fact}" (known: ${[...ctx.factNames].join(', ')})`);
    if (!resolveOperator(c.operator!)) fail('/operator', `unknown operator "${c.operator}"`);
    const v = c.value;
    if (v !== null && typeof v === 'object' && Object.hasOwn(v, 'fact')) {
      const ref = (v as { fact: unknown }).fact;
      if (typeof ref !== 'string' || !ctx.factNames.has(ref)) fail('/value/fact', `unknown fact "${String(ref)}"`);
    }
    if ((c.operator === 'in' || c.operator === 'notIn') && !(Array.isArray(v) || typeof v === 'string' || (v !== null && typeof v === 'object' && Object.hasOwn(v, 'fact')))) {
      fail('/value', `operator "${c.operator}" needs an array value`);
    }
    if (c.operator?.endsWith('matches') && typeof v === 'string') {
      try {
        new RegExp(v, 'u');
      } catch (e) {
        fail('/value', `invalid regular expression: ${(e as Error).message}`);
      }
    }
  }
}

function checkJsonata(expression: string, file: string, text: string): void {
  try {
    jsonata(expression);
  } catch (cause) {
    const e = cause as { code?: string; message: string; position?: number; token?: string };
    const exprAt = locatePointer(text, '/expression');
    // Position inside the expression, as line/column of the expression text; plus where the expression starts in the file.
    const inExpr = positionAt(expression, Math.max(0, (e.position ?? 1) - 1));
    throw new RulesetError(
      ErrorCodes.MAPPING_SYNTAX,
      `${describe(file, exprAt ?? {})}: JSONata ${e.code ?? 'error'} at line ${inExpr.line}, column ${inExpr.column} of the expression: ${e.message}`,
      { cause, details: { file, path: '/expression', line: exprAt?.line, column: exprAt?.column, expressionLine: inExpr.line, expressionColumn: inExpr.column, jsonataCode: e.code } },
    );
  }
}
