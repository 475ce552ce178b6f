import { parseTree, findNodeAtLocation, printParseErrorCode, parse, type ParseError, type Node } from 'jsonc-parser';
import { RulesetError, ErrorCodes } from '../../errors.ts';

export interface Position {
  line: number;
  column: number;
}

/** 1-based line and column of a character offset. */
export function positionAt(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * JSON.parse, but a syntax error names the file, line and column (JSON.parse's own message only gives an
 * offset on some Node versions). The fast path is JSON.parse; jsonc-parser runs only to explain a failure.
 */
export function parseJsonFile(file: string, text: string): unknown {
  try {
    return JSON.parse(stripBom(text));
  } catch (cause) {
    const errors: ParseError[] = [];
    parse(stripBom(text), errors, { allowTrailingComma: false, disallowComments: true });
    const first = errors[0];
    const pos = first ? positionAt(text, first.offset) : { line: 1, column: 1 };
    const what = first ? printParseErrorCode(first.error) : (cause as Error).message;
    throw new RulesetError(ErrorCodes.JSON_PARSE, `${file}:${pos.line}:${pos.column}: invalid JSON (${what})`, {
      cause,
      details: { file, ...pos },
    });
  }
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Converts a JSON pointer ("/rules/0/event") into jsonc-parser's path segments. */
export function pointerSegments(pointer: string): (string | number)[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

/** Line and column of the value at a JSON pointer, or of its nearest existing ancestor. */
export function locatePointer(text: string, pointer: string): Position | undefined {
  const tree: Node | undefined = parseTree(text);
  if (!tree) return undefined;
  const segments = pointerSegments(pointer);
  for (let n = segments.length; n >= 0; n--) {
    const node = findNodeAtLocation(tree, segments.slice(0, n));
    if (node) {
      // Point at the property name when there is one: that is where an editor's cursor should land.
      const at = node.parent?.type === 'property' ? node.parent.offset : node.offset;
      return positionAt(text, at);
    }
  }
  return undefined;
}
