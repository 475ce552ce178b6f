/**
 * Where a JSON text goes wrong, for the 400 answer. JSON.parse's messages differ between Node versions
 * and do not always give a position, so on the error path (only there) this small scanner walks the text
 * itself. It is iterative: a 10,000-deep body cannot overflow the stack here.
 */
export interface JsonErrorPosition {
  /** 0-based offset in characters. */
  offset: number;
  /** 1-based. */
  line: number;
  column: number;
  reason: string;
}

export function locateJsonError(text: string): JsonErrorPosition {
  const { offset, reason } = scan(text);
  return { offset, ...lineAndColumn(text, offset), reason };
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line += 1;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

const WS = new Set([' ', '\t', '\n', '\r']);

function scan(text: string): { offset: number; reason: string } {
  let i = 0;
  // 'a' = in an array, 'o' = in an object; what is expected next is tracked by `want`.
  const stack: ('a' | 'o')[] = [];
  type Want = 'value' | 'value-or-close' | 'key' | 'key-or-close' | 'colon' | 'comma-or-close' | 'end';
  let want: Want = 'value';
  const fail = (reason: string) => ({ offset: Math.min(i, text.length), reason });
  const describe = () => (i >= text.length ? 'the body ends' : `unexpected ${JSON.stringify(text[i])}`);

  for (;;) {
    while (i < text.length && WS.has(text[i])) i++;
    if (i >= text.length) {
      return want === 'end' ? { offset: text.length, reason: 'no error found' } : fail(stack.length ? `the body ends inside ${stack.length} unclosed ${stack.length === 1 ? 'bracket' : 'brackets'}` : 'the body ends before a value');
    }
    const c = text[i];
    switch (want) {
      case 'end':
        return fail(`${describe()} after the end of the JSON value`);
      case 'colon':
        if (c !== ':') return fail(`${describe()}; expected ":" after an object key`);
        i++;
        want = 'value';
        continue;
      case 'comma-or-close': {
        const top = stack[stack.length - 1];
        if (c === ',') {
          i++;
          want = top === 'o' ? 'key' : 'value';
          continue;
        }
        if ((c === ']' && top === 'a') || (c === '}' && top === 'o')) {
          i++;
          stack.pop();
          want = stack.length ? 'comma-or-close' : 'end';
          continue;
        }
        return fail(`${describe()}; expected "," or "${top === 'o' ? '}' : ']'}"`);
      }
      case 'key':
      case 'key-or-close':
        if (c === '}' && want === 'key-or-close') {
          i++;
          stack.pop();
          want = stack.length ? 'comma-or-close' : 'end';
          continue;
        }
        if (c !== '"') return fail(`${describe()}; expected a string key in double quotes`);
        {
          const end = string(text, i);
          if (typeof end === 'object') {
            i = end.at;
            return fail(end.reason);
          }
          i = end;
        }
        want = 'colon';
        continue;
      case 'value':
      case 'value-or-close': {
        if (c === ']' && want === 'value-or-close') {
          i++;
          stack.pop();
          want = stack.length ? 'comma-or-close' : 'end';
          continue;
        }
        if (c === '[' || c === '{') {
          stack.push(c === '[' ? 'a' : 'o');
          i++;
          want = c === '[' ? 'value-or-close' : 'key-or-close';
          continue;
        }
        let end: number | { at: number; reason: string };
        if (c === '"') end = string(text, i);
        else if (c === '-' || (c >= '0' && c <= '9')) end = number(text, i);
        else if (text.startsWith('true', i)) end = i + 4;
        else if (text.startsWith('false', i)) end = i + 5;
        else if (text.startsWith('null', i)) end = i + 4;
        else return fail(`${describe()}; expected a JSON value`);
        if (typeof end === 'object') {
          i = end.at;
          return fail(end.reason);
        }
        i = end;
        want = stack.length ? 'comma-or-close' : 'end';
        continue;
      }
    }
  }
}

function string(text: string, start: number): number | { at: number; reason: string } {
  let i = start + 1;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === 34) return i + 1;
    if (code < 0x20) return { at: i, reason: 'a control character inside a string (escape it)' };
    if (code === 92) {
      const e = text[i + 1];
      if (e === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return { at: i, reason: 'a bad \\u escape in a string' };
        i += 6;
        continue;
      }
      if (e === undefined || !'"\\/bfnrt'.includes(e)) return { at: i, reason: 'a bad escape in a string' };
      i += 2;
      continue;
    }
    i++;
  }
  return { at: text.length, reason: 'the body ends inside a string' };
}

function number(text: string, start: number): number | { at: number; reason: string } {
  const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(start, start + 400));
  if (!m) return { at: start, reason: 'a malformed number' };
  return start + m[0].length;
}
