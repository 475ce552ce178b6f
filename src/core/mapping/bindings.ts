import type { Facts } from '../facts.ts';
import type { Annotation } from '../../types.ts';

/**
 * What a mapping sees besides the record: `$now` (RFC 3339), `$time_ms` (the record's time, leap seconds
 * folded), `$annotations` (non-verdict rule events by type) and every lookup fact by name (`$customer`).
 * Both pipelines build their bindings here, and lint checks mappings against this list.
 */
export const MAPPING_BINDINGS = ['now', 'time_ms', 'annotations'] as const;

const NO_ANNOTATIONS = Object.freeze({});

export function mappingBindings(facts: Facts, annotations: readonly Annotation[], nowIso: string, lookupNames: readonly string[]): Record<string, unknown> {
  const bindings: Record<string, unknown> = {
    annotations: annotations.length === 0 ? NO_ANNOTATIONS : byType(annotations),
    now: nowIso,
    time_ms: facts.time_ms,
  };
  for (const name of lookupNames) bindings[name] = facts[name];
  return bindings;
}

/** The first event of each type wins, as rules are ordered. */
function byType(annotations: readonly Annotation[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of annotations) if (!Object.hasOwn(out, a.type)) out[a.type] = a.params ?? {};
  return out;
}
