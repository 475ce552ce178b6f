/** File-level checks: JSON syntax, each file against its kind's JSON Schema, and files nothing uses. */
import { posix } from 'node:path';
import { checkFile, type FileKind } from '../core/ruleset/file-schemas.ts';
import { parseJsonFile } from '../core/ruleset/locate.ts';
import type { RulesetError } from '../errors.ts';
import { problem, type LintProblem } from './types.ts';
import type { Manifest, RulesetFile } from '../core/ruleset/types.ts';

export const MANIFEST = 'rules/manifest.json';

export type LintFileKind = FileKind | 'record-schema' | 'test-record' | 'other';

/** The files, parsed once: JSON values (undefined when not JSON or not parseable). */
export interface ParsedFiles {
  text: Map<string, string>;
  json: Map<string, unknown>;
  manifest: Manifest | undefined;
}

export const inRules = (p: string) => `rules/${p.replace(/^\.\//, '')}`;

export function parseFiles(files: RulesetFile[], out: LintProblem[]): ParsedFiles {
  const text = new Map<string, string>();
  const json = new Map<string, unknown>();
  for (const f of files) {
    text.set(f.path, f.content);
    if (!f.path.endsWith('.json')) continue;
    try {
      json.set(f.path, parseJsonFile(f.path, f.content));
    } catch (e) {
      const d = (e as RulesetError).details ?? {};
      out.push(problem('json-syntax', f.path, d, (e as Error).message.replace(/^[^:]+:\d+:\d+: /, '')));
    }
  }
  const m = json.get(MANIFEST);
  const manifest = m && typeof m === 'object' && !Array.isArray(m) ? (m as Manifest) : undefined;
  if (!text.has(MANIFEST)) out.push(problem('missing-file', MANIFEST, undefined, 'the ruleset has no manifest (rules/manifest.json)'));
  return { text, json, manifest };
}

/** What each file is, from the manifest where it says, else from the file's name and folder. */
export function classify(parsed: ParsedFiles): Map<string, LintFileKind> {
  const m = parsed.manifest;
  const rulesFiles = new Set<string>();
  const referenceFiles = new Set<string>();
  if (m) {
    for (const p of Array.isArray(m.rules) ? m.rules : []) if (typeof p === 'string') rulesFiles.add(inRules(p));
    for (const t of Object.values(m.types ?? {})) for (const p of Array.isArray(t?.rules) ? t.rules : []) if (typeof p === 'string') rulesFiles.add(inRules(p));
    for (const r of Object.values(m.reference ?? {})) if (typeof r?.file === 'string') referenceFiles.add(inRules(r.file));
  }
  const kinds = new Map<string, LintFileKind>();
  for (const path of parsed.text.keys()) {
    let kind: LintFileKind;
    if (path === MANIFEST) kind = 'manifest';
    else if (path.startsWith('mappings/')) kind = path.endsWith('.json') ? 'mapping' : 'other';
    else if (path.endsWith('.test.json')) kind = 'test';
    else if (path.endsWith('.schema.json')) kind = 'record-schema';
    else if (rulesFiles.has(path) || path.endsWith('.rules.json')) kind = 'rules';
    else if (referenceFiles.has(path) || path.startsWith('rules/reference/')) kind = 'reference';
    else if (path.startsWith('rules/tests/')) kind = 'test-record';
    else kind = 'other';
    kinds.set(path, kind);
  }
  return kinds;
}

/** Every JSON file against the JSON Schema of its kind (checkFile reports each problem with its position). */
export function checkFileSchemas(parsed: ParsedFiles, kinds: Map<string, LintFileKind>, out: LintProblem[]): Set<string> {
  const invalid = new Set<string>();
  for (const [path, kind] of kinds) {
    if (!parsed.json.has(path)) continue;
    const value = parsed.json.get(path);
    if (kind === 'manifest' || kind === 'rules' || kind === 'mapping' || kind === 'test' || kind === 'reference') {
      for (const p of checkFile(kind, path, parsed.text.get(path)!, value)) {
        out.push(problem('file-schema', path, p, `${p.path} ${p.message}`));
        invalid.add(path);
      }
    } else if (kind === 'record-schema' && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      out.push(problem('file-schema', path, undefined, 'a JSON Schema must be an object'));
      invalid.add(path);
    }
  }
  return invalid;
}

/** Files under rules/ that nothing loads: not named by the manifest, not $ref-ed by a used schema, not a test's record. */
export function unusedFiles(parsed: ParsedFiles, kinds: Map<string, LintFileKind>, out: LintProblem[]): void {
  const m = parsed.manifest;
  if (!m) return;
  const used = new Set<string>([MANIFEST]);
  const schemaQueue: string[] = [];
  const useSchema = (p: string) => {
    if (!used.has(p) && parsed.text.has(p)) {
      used.add(p);
      schemaQueue.push(p);
    }
  };
  for (const p of Array.isArray(m.rules) ? m.rules : []) used.add(inRules(String(p)));
  for (const t of Object.values(m.types ?? {})) {
    if (typeof t?.schema === 'string') useSchema(inRules(t.schema));
    for (const p of Array.isArray(t?.rules) ? t.rules : []) used.add(inRules(String(p)));
  }
  if (typeof m.envelope === 'string') useSchema(inRules(m.envelope));
  for (const p of Array.isArray(m.schemas) ? m.schemas : []) useSchema(inRules(String(p)));
  for (const r of Object.values(m.reference ?? {})) if (typeof r?.file === 'string') used.add(inRules(r.file));
  // Schemas $ref-ed from used schemas, by relative path or by $id.
  const byId = new Map<string, string>();
  for (const [path, kind] of kinds) {
    const v = parsed.json.get(path) as { $id?: unknown } | undefined;
    if (kind === 'record-schema' && v && typeof v.$id === 'string') byId.set(v.$id.replace(/#.*$/, ''), path);
  }
  while (schemaQueue.length) {
    const path = schemaQueue.pop()!;
    const doc = parsed.json.get(path) as { $id?: unknown } | undefined;
    for (const ref of collectRefs(doc)) {
      const file = ref.replace(/#.*$/, '');
      if (!file) continue;
      if (typeof doc?.$id === 'string') {
        try {
          const hit = byId.get(new URL(file, doc.$id).href);
          if (hit) useSchema(hit);
        } catch {
          // not a URL: try it as a path below
        }
      }
      useSchema(posix.normalize(posix.join(posix.dirname(path), file)));
      const abs = byId.get(file);
      if (abs) useSchema(abs);
    }
  }
  for (const [path, kind] of kinds) {
    if (kind !== 'test') continue;
    const cases = (parsed.json.get(path) as { cases?: { recordFile?: unknown }[] } | undefined)?.cases;
    if (!Array.isArray(cases)) continue;
    for (const c of cases) if (c && typeof c.recordFile === 'string') used.add(posix.normalize(posix.join(posix.dirname(path), c.recordFile)));
  }
  for (const [path, kind] of kinds) {
    if (!path.startsWith('rules/') || used.has(path) || kind === 'test') continue;
    const what =
      kind === 'rules'
        ? 'a rules file the manifest does not list (in "rules" or a type\'s "rules")'
        : kind === 'reference'
          ? 'a reference file the manifest does not list in "reference"'
          : kind === 'record-schema'
            ? 'a schema no type, envelope or used schema refers to'
            : kind === 'test-record'
              ? 'a file under rules/tests/ that no test case uses as its recordFile'
              : 'a file the ruleset does not use';
    out.push(problem('unused-file', path, undefined, `unused file: ${what}`));
  }
}

function collectRefs(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) collectRefs(x, out);
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string') out.push(x);
      else collectRefs(x, out);
    }
  }
  return out;
}
