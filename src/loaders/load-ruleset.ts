import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { parseRuleset } from '../core/ruleset/parse-ruleset.ts';
import { RulesetError, ErrorCodes } from '../errors.ts';
import type { Ruleset, RulesetFile } from '../core/ruleset/types.ts';

export interface LoadRulesetOptions {
  /** Folder with manifest.json, schemas, rules, reference data and tests. Default ./rules */
  rules?: string;
  /** Folder with one sub-folder per target of JSONata mappings. Default ./mappings */
  mappings?: string;
}

/** Reads rules/ and mappings/ and validates them (see parseRuleset). */
export async function loadRuleset(options: LoadRulesetOptions = {}): Promise<Ruleset> {
  return parseRuleset(await readRulesetFiles(options));
}

/** The files of a ruleset folder pair, as `rules/...` and `mappings/...` paths. */
export async function readRulesetFiles(options: LoadRulesetOptions = {}): Promise<RulesetFile[]> {
  const rulesDir = options.rules ?? 'rules';
  const mappingsDir = options.mappings ?? 'mappings';
  const out: RulesetFile[] = [];
  for (const [dir, prefix] of [
    [rulesDir, 'rules'],
    [mappingsDir, 'mappings'],
  ] as const) {
    let names: string[];
    try {
      names = (await readdir(dir, { recursive: true, withFileTypes: true }))
        .filter((d) => d.isFile() && /\.(json|csv)$/.test(d.name))
        .map((d) => join(d.parentPath ?? (d as any).path, d.name));
    } catch (cause) {
      throw new RulesetError(ErrorCodes.FILE_READ, `cannot read the ${prefix} folder "${dir}": ${(cause as Error).message}`, { cause, details: { file: dir } });
    }
    for (const file of names.sort()) {
      let content: string;
      try {
        content = await readFile(file, 'utf8');
      } catch (cause) {
        throw new RulesetError(ErrorCodes.FILE_READ, `cannot read ${file}: ${(cause as Error).message}`, { cause, details: { file } });
      }
      out.push({ path: `${prefix}/${relative(dir, file).split(sep).join('/')}`, content });
    }
  }
  return out;
}
