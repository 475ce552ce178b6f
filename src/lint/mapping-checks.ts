/**
 * Mappings: JSONata syntax errors at their line and column, files in the wrong place, and (when the
 * ruleset loads) what each expression reads: record paths its type's schema cannot produce, lookup
 * columns no reference row has, $annotations no rule emits, $variables that are not bindings.
 */
import jsonata from 'jsonata';
import { locatePointer } from '../core/ruleset/locate.ts';
import { problem, didYouMean, type LintProblem } from './types.ts';
import { expressionLocator } from './expression-position.ts';
import type { LintFileKind, ParsedFiles } from './files.ts';
import type { RulesetModel } from './rule-analysis.ts';
import { MAPPING_BINDINGS } from '../core/mapping/bindings.ts';
import { childrenOf, sameInputChildren, type Node } from './jsonata-ast.ts';

/** Variables the pipeline binds for every mapping besides one per lookup fact (src/core/mapping/bindings.ts). */
const BUILTIN_BINDINGS: readonly string[] = MAPPING_BINDINGS;

export function checkMappingFiles(parsed: ParsedFiles, kinds: Map<string, LintFileKind>, model: RulesetModel | undefined, out: LintProblem[]): { variablesUsed: Set<string> } {
  const variablesUsed = new Set<string>();
  const seen = new Map<string, string>();
  const types = new Set(Object.keys(parsed.manifest?.types ?? {}));
  for (const [file, kind] of kinds) {
    if (kind !== 'mapping') continue;
    const def = parsed.json.get(file) as { target?: unknown; type?: unknown; expression?: unknown } | undefined;
    if (!def || typeof def !== 'object') continue;
    const text = parsed.text.get(file)!;
    const locate = expressionLocator(text);
    const folder = file.split('/').length >= 3 ? file.split('/')[1] : undefined;
    if (typeof def.target === 'string' && def.target !== folder) {
      out.push(problem('mapping-target', file, locatePointer(text, '/target'), `target "${def.target}" must match the folder the file is in (mappings/${def.target}/)`));
    }
    if (typeof def.type === 'string' && parsed.manifest && !types.has(def.type)) {
      out.push(problem('mapping-target', file, locatePointer(text, '/type'), `type "${def.type}" is not a type of the manifest${didYouMean(def.type, types)}`));
    }
    if (typeof def.target === 'string' && typeof def.type === 'string') {
      const key = `${def.target}/${def.type}`;
      const other = seen.get(key);
      if (other) out.push(problem('mapping-target', file, locatePointer(text, '/type'), `a mapping for ${key} is already in ${other}`));
      else seen.set(key, file);
    }
    const expression = Array.isArray(def.expression) ? def.expression.join('\n') : def.expression;
    if (typeof expression !== 'string') continue;
    let ast: Node;
    try {
      ast = jsonata(expression).ast() as Node;
    } catch (e) {
      const err = e as { code?: string; message: string; position?: number; token?: unknown };
      const len = err.token !== undefined ? String(err.token).length : 1;
      const offset = Math.max(0, (err.position ?? 1) - len);
      out.push(problem('mapping-syntax', file, locate(offset), `JSONata ${err.code ?? 'error'}: ${err.message}`));
      continue;
    }
    if (model && typeof def.type === 'string' && Object.hasOwn(model.ruleset.types, def.type)) {
      analyseExpression(model, file, def.type, ast, locate, out, variablesUsed);
    }
  }
  return { variablesUsed };
}

function analyseExpression(
  model: RulesetModel,
  file: string,
  type: string,
  ast: Node,
  locate: (offset: number) => { line: number; column: number } | undefined,
  out: LintProblem[],
  variablesUsed: Set<string>,
): void {
  const { ruleset, walker } = model;
  const declared = new Set<string>();
  collectDeclared(ast, declared);
  const lookups = new Set(Object.keys(ruleset.facts));
  const bindings = [...lookups, ...BUILTIN_BINDINGS];
  const annotations = annotationsOf(model, type);
  const root = model.root(type);
  const startOf = (n: Node, prefix = 0) => Math.max(0, (n.position ?? 0) - String(n.value ?? '').length - prefix);

  const checkRecordPath = (steps: Node[]) => {
    const keys: string[] = [];
    for (const s of steps) {
      if (s.type !== 'name') break;
      keys.push(String(s.value));
      const r = walker.walk(root, keys);
      if (r.kind === 'open') return;
      if (r.kind === 'missing') {
        const parent = keys.slice(0, -1).join('.') || 'the record';
        out.push(problem('unknown-path', file, locate(startOf(s)), `${keys.join('.')}: "${s.value}" is not a property of ${parent} in ${type}${didYouMean(String(s.value), r.known)}${r.known.length ? ` (known: ${r.known.join(', ')})` : ''}`));
        return;
      }
      if (s.stages || s.predicate || s.group) return;
    }
  };

  const checkVariablePath = (v: Node, rest: Node[]) => {
    const name = String(v.value);
    variablesUsed.add(name);
    if (lookups.has(name)) {
      const col = rest[0];
      const cols = model.columns(name);
      if (col?.type === 'name' && cols && cols.size && !cols.has(String(col.value))) {
        const table = ruleset.facts[name].lookup;
        out.push(problem('unknown-column', file, locate(startOf(col)), `$${name}.${col.value}: no row of reference table "${table}" has a "${col.value}" column${didYouMean(String(col.value), cols)} (columns: ${[...cols].join(', ')})`));
      }
    } else if (name === 'annotations') {
      const t = rest[0];
      if (t?.type !== 'name') return;
      const params = annotations.get(String(t.value));
      if (!params) {
        const known = [...annotations.keys()];
        out.push(problem('unknown-annotation', file, locate(startOf(t)), `$annotations.${t.value}: no rule for ${type} emits an event of type "${t.value}"${didYouMean(String(t.value), known)}${known.length ? ` (emitted: ${known.join(', ')})` : ''}`));
        return;
      }
      const p = rest[1];
      if (p?.type === 'name' && params.size && !params.has(String(p.value))) {
        out.push(problem('unknown-annotation', file, locate(startOf(p)), `$annotations.${t.value}.${p.value}: the "${t.value}" events have no "${p.value}" param${didYouMean(String(p.value), params)} (params: ${[...params].join(', ')})`));
      }
    } else checkVariable(v);
  };

  const checkVariable = (v: Node) => {
    const name = String(v.value);
    variablesUsed.add(name);
    if (name === '' || name === '$' || declared.has(name) || lookups.has(name) || BUILTIN_BINDINGS.includes(name)) return;
    out.push(problem('unknown-variable', file, locate(startOf(v, 1)), `$${name} is not bound${didYouMean(name, bindings)} (bindings: ${bindings.map((b) => `$${b}`).join(', ')})`));
  };

  // `rooted`: the node is evaluated against the record itself, so a leading name is a record field.
  const visit = (n: unknown, rooted: boolean): void => {
    if (Array.isArray(n)) return n.forEach((x) => visit(x, rooted));
    if (!n || typeof n !== 'object') return;
    const node = n as Node;
    switch (node.type) {
      case 'path': {
        const steps = node.steps as Node[];
        const first = steps[0];
        if (first?.type === 'name' && rooted) checkRecordPath(steps);
        else if (first?.type === 'variable') {
          if (first.value === '' && rooted) checkRecordPath(steps.slice(1));
          else if (first.value === '$') checkRecordPath(steps.slice(1));
          else if (first.value !== '') checkVariablePath(first, steps.slice(1));
        } else visit(first, rooted);
        for (const s of steps) {
          visit(s.stages, false);
          visit(s.predicate, false);
          visit(s.group, false);
          if (s !== first && s.type !== 'name') visit(s, false);
        }
        visit(node.group, false);
        return;
      }
      case 'variable':
        checkVariable(node);
        return;
      case 'function':
      case 'partial':
        // The procedure is a function name ($ceil, or one defined with :=): not a data binding.
        if (node.procedure?.type !== 'variable') visit(node.procedure, rooted);
        visit(node.arguments, rooted);
        return;
      case 'lambda':
        visit(node.body, false);
        return;
      case 'bind':
        visit(node.rhs, rooted);
        return;
      case 'apply':
        visit(node.lhs, rooted);
        visit(node.rhs, false);
        return;
      default: {
        const same = sameInputChildren(node);
        if (same) visit(same, rooted);
        else visit(childrenOf(node), false);
      }
    }
  };
  visit(ast, true);
}

function collectDeclared(n: unknown, out: Set<string>): void {
  if (Array.isArray(n)) return n.forEach((x) => collectDeclared(x, out));
  if (!n || typeof n !== 'object') return;
  const node = n as Node;
  if (node.type === 'bind' && node.lhs?.type === 'variable') out.add(String(node.lhs.value));
  if (node.type === 'lambda') for (const a of node.arguments ?? []) if (a?.type === 'variable') out.add(String(a.value));
  // Focus (@$x) and index (#$i) bindings on path steps.
  if (typeof node.focus === 'string') out.add(node.focus);
  if (typeof node.index === 'string') out.add(node.index);
  for (const v of Object.values(node)) if (v && typeof v === 'object') collectDeclared(v, out);
}

/** Annotation events the rules of a type emit, with their params. */
function annotationsOf(model: RulesetModel, type: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const r of [...model.ruleset.commonRules, ...model.ruleset.types[type].rules]) {
    const ev = r.event;
    if (ev.type === 'reject' || ev.type === 'skip') continue;
    const params = out.get(ev.type) ?? new Set<string>();
    for (const k of Object.keys(ev.params ?? {})) params.add(k);
    out.set(ev.type, params);
  }
  return out;
}
