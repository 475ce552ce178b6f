import { parseTree, findNodeAtLocation, type Node } from 'jsonc-parser';
import { positionAt, type Position } from '../core/ruleset/locate.ts';

/**
 * Maps a character offset in a mapping's JSONata expression to a line and column of the mapping file.
 * The expression is a JSON string (escapes and all) or an array of them joined with newlines, so the
 * offset is walked through the string literal's raw text.
 */
export function expressionLocator(text: string, pointer = '/expression'): (offset: number) => Position | undefined {
  const tree = parseTree(text);
  const node = tree && findNodeAtLocation(tree, pointer.split('/').slice(1));
  if (!node) return () => undefined;
  const parts: { start: number; length: number; node: Node }[] = [];
  if (node.type === 'string') parts.push({ start: 0, length: String(node.value).length, node });
  else if (node.type === 'array') {
    let start = 0;
    for (const child of node.children ?? []) {
      if (child.type !== 'string') return () => undefined;
      const length = String(child.value).length;
      parts.push({ start, length, node: child });
      start += length + 1;
    }
  } else return () => undefined;
  return (offset) => {
    const part = parts.find((p) => offset >= p.start && offset <= p.start + p.length) ?? parts[parts.length - 1];
    if (!part) return undefined;
    return positionAt(text, rawOffset(text, part.node.offset, Math.max(0, Math.min(offset - part.start, part.length))));
  };
}

/** Offset in the file of the n-th decoded character of the string literal starting at `literalStart` (its quote). */
function rawOffset(text: string, literalStart: number, n: number): number {
  let i = literalStart + 1;
  for (let k = 0; k < n && i < text.length; k++) {
    if (text.charCodeAt(i) === 92) i += text[i + 1] === 'u' ? 6 : 2;
    else i++;
  }
  return i;
}
