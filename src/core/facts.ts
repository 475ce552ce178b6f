import type { Ruleset } from './ruleset/types.ts';
import { parseTime } from './time.ts';

export { parseTime };

/** Facts every rule can use, whatever the ruleset. Lookup facts from the manifest are added to these. */
export const BUILTIN_FACTS = ['record', 'id', 'source', 'type', 'subject', 'time', 'data', 'now_ms', 'time_ms', 'age_s'] as const;

export type Facts = Record<string, unknown>;

export interface FactResolver {
  (record: Record<string, unknown>, nowMs: number): Facts;
  /** Names of the lookup facts (they are also passed to mappings as $name). */
  lookupNames: string[];
}

/**
 * Builds the function that computes every fact for a record. Lookup tables are indexed once here; a record
 * then costs one Map lookup per lookup fact. Keys missing from the record are left out (json-rules-engine
 * treats an absent fact as undefined with allowUndefinedFacts).
 */
export function createFactResolver(ruleset: Ruleset): FactResolver {
  const lookups = Object.entries(ruleset.facts).map(([name, def]) => {
    const table = ruleset.reference[def.lookup];
    const index = new Map<string, unknown>();
    for (const row of table.rows) index.set(String(row[table.key]), row);
    const keyPath = def.key.split('.');
    return { name, index, keyPath };
  });
  const resolve = ((record: Record<string, unknown>, nowMs: number): Facts => {
    const timeMs = parseTime(record.time);
    const facts: Facts = {
      record,
      now_ms: nowMs,
      time_ms: timeMs,
      age_s: (nowMs - timeMs) / 1000,
    };
    if (record.id !== undefined) facts.id = record.id;
    if (record.source !== undefined) facts.source = record.source;
    if (record.type !== undefined) facts.type = record.type;
    if (record.subject !== undefined) facts.subject = record.subject;
    if (record.time !== undefined) facts.time = record.time;
    if (record.data !== undefined) facts.data = record.data;
    for (const l of lookups) {
      let v: unknown = record;
      for (const k of l.keyPath) v = v !== null && typeof v === 'object' && Object.hasOwn(v, k) ? (v as any)[k] : undefined;
      facts[l.name] = typeof v === 'string' || typeof v === 'number' ? (l.index.get(String(v)) ?? null) : null;
    }
    return facts;
  }) as FactResolver;
  resolve.lookupNames = lookups.map((l) => l.name);
  return resolve;
}
