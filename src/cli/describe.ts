/** How results and their reasons read in text output. */
import { inline } from './output.ts';
import type { RejectionError } from '../types.ts';
import type { RecordItem } from '../io/items.ts';

/** "CODE  message  (rule r: data $.to startsWith "+55900", actual "+55900123")". */
export function describeError(e: RejectionError): string {
  const details: string[] = [];
  if (e.rule) {
    const c = e.condition;
    details.push(c ? `rule ${e.rule}: ${c.fact}${c.path ? ` ${c.path}` : ''} ${c.operator} ${inline(c.compareValue, 60)}, actual ${inline(c.factValue ?? null, 60)}` : `rule ${e.rule}`);
  } else {
    if (e.expected !== undefined) details.push(`expected ${inline(e.expected, 100)}`);
    if (e.actual !== undefined) details.push(`actual ${inline(e.actual, 60)}`);
  }
  return `${e.code}  ${e.message}${details.length ? `  (${details.join(', ')})` : ''}`;
}

/** "file:12" or "file:40 [3]" (JSON arrays add the element's index). */
export function where(file: string, item: { line?: number; index?: number }): string {
  return `${file}${item.line !== undefined ? `:${item.line}` : ''}${item.index !== undefined ? ` [${item.index}]` : ''}`;
}

/** The record's id, when it has one. */
export function recordId(item: RecordItem): string | undefined {
  if (!item.ok) return undefined;
  const r = item.record as { id?: unknown } | null;
  return r && typeof r === 'object' && typeof r.id === 'string' ? r.id : undefined;
}
