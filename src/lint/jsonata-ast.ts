/**
 * Walking a JSONata AST (as `jsonata(expression).ast()` gives it), for the mapping checks of `lint` and
 * the branch coverage of `test`.
 */
export type Node = Record<string, any>;

/**
 * The children of a node that are evaluated against the node's own input: the operands of an operator,
 * the parts of `? :`, the expressions of a block (parentheses too), the arguments of a call. Undefined
 * for other kinds of node.
 */
export function sameInputChildren(node: Node): unknown[] | undefined {
  switch (node.type) {
    case 'binary':
      return [node.lhs, node.rhs];
    case 'unary':
      return [node.expression, node.expressions, node.lhs];
    case 'condition':
      return [node.condition, node.then, node.else];
    case 'block':
      return [node.expressions];
    case 'function':
    case 'partial':
      return [node.arguments];
    default:
      return undefined;
  }
}

/** Every child of a node (objects and arrays under any key but `position`), in key order. */
export function childrenOf(node: Node): unknown[] {
  const out: unknown[] = [];
  for (const [k, v] of Object.entries(node)) if (k !== 'position' && v && typeof v === 'object') out.push(v);
  return out;
}
