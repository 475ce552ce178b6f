import { createSchemaWalker, type SchemaView } from '../core/schema/walk-schema.ts';
import type { Ruleset } from '../core/ruleset/types.ts';
import type { CsvTyper } from './csv.ts';

const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * Types CSV cells by the record type's JSON Schema: a column whose schema says integer or number becomes
 * a number, boolean becomes true/false, object or array is read as JSON; anything else (or a cell that
 * does not look like its type) stays a string, for the schema to judge. Unknown types use the envelope.
 */
export function createCsvTyper(ruleset: Ruleset): CsvTyper {
  const walker = createSchemaWalker(ruleset.schemas);
  const roots = new Map<string, SchemaView | undefined>();
  const rootOf = (type: unknown): SchemaView | undefined => {
    const path = typeof type === 'string' && Object.hasOwn(ruleset.types, type) ? ruleset.types[type].schema : ruleset.envelope;
    if (!path) return undefined;
    if (!roots.has(path)) roots.set(path, walker.root(path));
    return roots.get(path);
  };
  return (type, keys) => {
    const root = rootOf(type);
    if (!root) return asIs;
    const r = walker.walk(root, [...keys]);
    if (r.kind !== 'found') return asIs;
    const types = walker.leaf(r.view).types;
    if (!types || types.size === 0 || types.has('string')) return asIs;
    return (cell) => convert(cell, types);
  };
}

const asIs = (cell: string) => cell;

function convert(cell: string, types: Set<string>): unknown {
  if ((types.has('integer') || types.has('number')) && NUMBER.test(cell)) return Number(cell);
  if (types.has('boolean')) {
    const l = cell.toLowerCase();
    if (l === 'true') return true;
    if (l === 'false') return false;
  }
  if (types.has('null') && cell === 'null') return null;
  if (types.has('object') || types.has('array')) {
    try {
      return JSON.parse(cell);
    } catch {
      return cell;
    }
  }
  return cell;
}
