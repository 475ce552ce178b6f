/**
 * jsonata 2.2.2's function-signature validator (signature.js), ported so argument errors and the
 * context-substitution quirks (`$substring(5, 1)` reads the context as the string) come out the same.
 * Only the generic path of a built-in call runs it; generated code skips it when the argument types
 * already fit the plain reading of the signature.
 */
import { fail } from './errors.ts';
import { isFunction } from './values.ts';

interface Param {
  regex: string;
  type: string;
  array?: boolean;
  context?: boolean;
  contextRegex?: RegExp;
  subtype?: string;
}

const pluralOf: Record<string, string> = { a: 'arrays', b: 'booleans', f: 'functions', n: 'numbers', o: 'objects', s: 'strings' };

function symbolOf(value: unknown): string {
  if (isFunction(value)) return 'f';
  switch (typeof value) {
    case 'string': return 's';
    case 'number': return 'n';
    case 'boolean': return 'b';
    case 'object': return value === null ? 'l' : Array.isArray(value) ? 'a' : 'o';
    default: return 'm';
  }
}

function closing(str: string, start: number, open: string, close: string): number {
  let depth = 1;
  let pos = start;
  while (pos < str.length) {
    pos++;
    const c = str.charAt(pos);
    if (c === close) {
      depth--;
      if (depth === 0) break;
    } else if (c === open) {
      depth++;
    }
  }
  return pos;
}

export interface Signature {
  validate(args: unknown[], context: unknown): unknown[];
}

export function parseSignature(signature: string): Signature {
  const params: Param[] = [];
  let param = {} as Param;
  let prev = param;
  const next = () => {
    params.push(param);
    prev = param;
    param = {} as Param;
  };
  for (let pos = 1; pos < signature.length; pos++) {
    const symbol = signature.charAt(pos);
    if (symbol === ':') break;
    switch (symbol) {
      case 's': case 'n': case 'b': case 'l': case 'o':
        param.regex = `[${symbol}m]`;
        param.type = symbol;
        next();
        break;
      case 'a':
        param.regex = '[asnblfom]';
        param.type = symbol;
        param.array = true;
        next();
        break;
      case 'f':
        param.regex = 'f';
        param.type = symbol;
        next();
        break;
      case 'j':
        param.regex = '[asnblom]';
        param.type = symbol;
        next();
        break;
      case 'x':
        param.regex = '[asnblfom]';
        param.type = symbol;
        next();
        break;
      case '-':
        prev.context = true;
        prev.contextRegex = new RegExp(prev.regex);
        prev.regex += '?';
        break;
      case '?': case '+':
        prev.regex += symbol;
        break;
      case '(': {
        const end = closing(signature, pos, '(', ')');
        const choice = signature.substring(pos + 1, end);
        param.regex = `[${choice}m]`;
        param.type = `(${choice})`;
        pos = end;
        next();
        break;
      }
      case '<': {
        const end = closing(signature, pos, '<', '>');
        prev.subtype = signature.substring(pos + 1, end);
        pos = end;
        break;
      }
    }
  }
  const regex = new RegExp('^' + params.map((p) => `(${p.regex})`).join('') + '$');

  const invalid = (args: unknown[], supplied: string): never => {
    let partial = '^';
    let goodTo = 0;
    for (const p of params) {
      partial += p.regex;
      const match = supplied.match(partial);
      if (match === null) throw fail('T0410', { value: args[goodTo], index: goodTo + 1 });
      goodTo = match[0].length;
    }
    throw fail('T0410', { value: args[goodTo], index: goodTo + 1 });
  };

  return {
    validate(args, context) {
      let supplied = '';
      for (const a of args) supplied += symbolOf(a);
      const isValid = regex.exec(supplied);
      if (!isValid) return invalid(args, supplied);
      const validated: unknown[] = [];
      let argIndex = 0;
      params.forEach((p, index) => {
        let arg = args[argIndex];
        const match = isValid[index + 1];
        if (match === '') {
          if (p.context && p.contextRegex) {
            if (p.contextRegex.test(symbolOf(context))) validated.push(context);
            else throw fail('T0411', { value: context, index: argIndex + 1 });
          } else {
            validated.push(arg);
            argIndex++;
          }
          return;
        }
        for (const single of match.split('')) {
          arg = args[argIndex];
          if (p.type === 'a') {
            if (single === 'm') {
              arg = undefined;
            } else {
              let ok = true;
              if (p.subtype !== undefined) {
                if (single !== 'a' && match !== p.subtype) {
                  ok = false;
                } else if (single === 'a') {
                  const list = arg as unknown[];
                  if (list.length > 0) {
                    const itemType = symbolOf(list[0]);
                    if (itemType !== p.subtype.charAt(0)) ok = false;
                    else ok = list.filter((v) => symbolOf(v) !== itemType).length === 0;
                  }
                }
              }
              if (!ok) throw fail('T0412', { value: arg, index: argIndex + 1, type: pluralOf[p.subtype as string] });
              if (single !== 'a') arg = [arg];
            }
          }
          validated.push(arg);
          argIndex++;
        }
      });
      return validated;
    },
  };
}
