/**
 * Branch coverage of a JSONata mapping: finds each `cond ? then : else` evaluated against the record
 * itself (not inside a path step, filter or function body, whose input is something else), prints its
 * condition and those of the conditionals around it back to JSONata from the AST, and evaluates them
 * on a test's record with the mapping's bindings to learn which branch ran. A conditional whose parts
 * use a construct the printer does not know is reported as not traced.
 */
import jsonata from 'jsonata';
import { childrenOf, sameInputChildren, type Node } from '../lint/jsonata-ast.ts';

export interface Conditional {
  /** Offset of the "?" in the expression. */
  position: number;
  /** The condition, printed back to JSONata (for reports). */
  condition: string;
  hasElse: boolean;
  /** Evaluates which branch ran: "then", "else", or "unreached" (an enclosing conditional went the other way). */
  probe: jsonata.Expression | undefined;
}

export function findConditionals(expression: string): Conditional[] {
  const out: Conditional[] = [];
  const ast = jsonata(expression).ast() as Node;
  const visit = (n: unknown, guards: string[] | undefined): void => {
    if (Array.isArray(n)) return n.forEach((x) => visit(x, guards));
    if (!n || typeof n !== 'object') return;
    const node = n as Node;
    switch (node.type) {
      case 'condition': {
        let cond: string | undefined;
        try {
          cond = print(node.condition);
        } catch {
          cond = undefined;
        }
        const label = cond ?? '(not printable)';
        let probe: jsonata.Expression | undefined;
        if (cond !== undefined && guards) {
          const guard = guards.length ? guards.join(' and ') : 'true';
          probe = jsonata(`(${guard}) ? ($boolean(${cond}) ? "then" : "else") : "unreached"`);
        }
        out.push({ position: node.position, condition: label, hasElse: node.else !== undefined, probe });
        visit(node.condition, guards);
        visit(node.then, cond !== undefined && guards ? [...guards, `$boolean(${cond})`] : undefined);
        visit(node.else, cond !== undefined && guards ? [...guards, `$not($boolean(${cond}))`] : undefined);
        return;
      }
      case 'block':
        // Parentheses are a block too. One that binds variables (:=) would leave them undefined in a
        // probe, so conditionals inside such a block are found but not traced.
        visit(node.expressions, (node.expressions as Node[]).some((e) => e?.type === 'bind') ? undefined : guards);
        return;
      case 'path': {
        const [first, ...rest] = node.steps as Node[];
        visit(first, first?.type === 'name' || first?.type === 'variable' ? guards : undefined);
        visit(rest, undefined);
        return;
      }
      default: {
        // Operands and call arguments are evaluated against the same input, under the same guards.
        const same = sameInputChildren(node);
        if (same) visit(same, guards);
        else visit(childrenOf(node), undefined);
      }
    }
  };
  visit(ast, []);
  return out.sort((a, b) => a.position - b.position);
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** JSONata source for an AST node, for the constructs mappings usually hold; throws on any other. */
export function print(n: Node): string {
  if (!n || typeof n !== 'object') throw new Error('not a node');
  if (n.stages || n.predicate || n.group || n.keepArray || n.focus || n.index || n.tuple) throw new Error('unsupported');
  switch (n.type) {
    case 'path':
      if (n.keepSingletonArray) throw new Error('unsupported');
      return (n.steps as Node[]).map((s, i) => (s.type === 'name' || s.type === 'variable' || i === 0 ? print(s) : `(${print(s)})`)).join('.');
    case 'name':
      return NAME.test(n.value) ? n.value : `\`${String(n.value).replace(/`/g, '')}\``;
    case 'variable':
      return `$${n.value}`;
    case 'string':
      return JSON.stringify(n.value);
    case 'number':
      return String(n.value);
    case 'value':
      return String(n.value);
    case 'binary':
      return `(${print(n.lhs)} ${n.value} ${print(n.rhs)})`;
    case 'unary':
      if (n.value === '-') return `-(${print(n.expression)})`;
      if (n.value === '[') return `[${(n.expressions as Node[]).map(print).join(', ')}]`;
      if (n.value === '{') return `{${(n.lhs as Node[][]).map(([k, v]) => `${print(k)}: ${print(v)}`).join(', ')}}`;
      throw new Error('unsupported');
    case 'function':
      return `${print(n.procedure)}(${(n.arguments as Node[]).map(print).join(', ')})`;
    case 'block':
      return `(${(n.expressions as Node[]).map(print).join('; ')})`;
    case 'condition':
      return `(${print(n.condition)} ? ${print(n.then)}${n.else !== undefined ? ` : ${print(n.else)}` : ''})`;
    default:
      throw new Error('unsupported');
  }
}
