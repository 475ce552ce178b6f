/**
 * Turns a jsonata AST into the body of a synchronous JavaScript function `(input, b) => result`.
 *
 * Every node compiles to statements that leave its value in a temporary, so the code reads like the
 * evaluator it replaces: operands in jsonata's order, lazy branches inside `if`, and only one kind of
 * control flow besides values — exceptions (JSONata errors, or the bail signal). Anything outside the
 * subset, including any AST flag we do not know (predicates, grouping, keepArray, tuples...), throws
 * Unsupported, which makes the compiler answer null.
 *
 * Helpers named in the generated code are the exports of values.ts, builtins.ts and errors.ts; the
 * entry point hands them in as `rt`. Only JSON.stringify'd strings and numbers from the AST are ever
 * spliced into the source.
 */
import { BUILTINS } from './builtins.ts';
import { fastCall } from './fast-calls.ts';

class Unsupported extends Error {}

type Node = Record<string, any>;

function no(why: string): never {
  throw new Unsupported(why);
}

/** A node may carry only these keys; the parser adds others (stages, group, focus...) for semantics we do not compile. */
function only(node: Node, ...keys: string[]): void {
  for (const k of Object.keys(node)) {
    if (k !== 'type' && k !== 'position' && node[k] !== undefined && !keys.includes(k)) no(`${node.type} with ${k}`);
  }
}

/** A number as source text. Anything else (a position the parser left out) becomes undefined, never raw text. */
function num(n: unknown): string {
  if (typeof n !== 'number') return 'undefined';
  if (Object.is(n, -0)) return '(-0)';
  return n < 0 ? `(${String(n)})` : String(n);
}

const isLiteral = (n: Node) => n.type === 'string' || n.type === 'number' || n.type === 'value';

/**
 * Whether evaluating the node can raise a JSONata error (bailing is not an error). Decides how
 * object and array constructors, which jsonata evaluates in parallel, must be laid out.
 */
function canThrow(n: Node): boolean {
  switch (n.type) {
    case 'string': case 'number': case 'value': case 'variable': case 'path':
      return false;
    case 'unary':
      if (n.value === '[') return (n.expressions as Node[]).some(canThrow);
      if (n.value === '{') {
        // Reserved or repeated keys are errors raised when the constructor runs.
        const keys = (n.lhs as Node[][]).map(([k]) => k.value);
        const clash = new Set(keys).size !== keys.length || keys.some((k) => k === '_jsonata_lambda' || k === '_jsonata_function');
        return clash || (n.lhs as Node[][]).some(([, v]) => canThrow(v));
      }
      return true;
    case 'binary':
      return n.value === '=' || n.value === '!=' || n.value === 'in' ? canThrow(n.lhs) || canThrow(n.rhs) : true;
    case 'block':
      return (n.expressions as Node[]).some(canThrow);
    case 'bind':
      return canThrow(n.rhs);
    default:
      return true;
  }
}

interface Scope {
  parent: Scope | null;
  vars: Map<string, string>;
}

function resolve(scope: Scope | null, name: string): string | undefined {
  for (let s = scope; s; s = s.parent) {
    const slot = s.vars.get(name);
    if (slot !== undefined) return slot;
  }
  return undefined;
}

const ARITH = new Set(['+', '-', '*', '/', '%']);
const COMPARE = new Set(['<', '<=', '>', '>=']);

/** The body of `new Function('rt', body)`, which returns the compiled evaluate function. */
export function generate(ast: Node): string {
  const g = new Gen();
  const root: Scope = { parent: null, vars: new Map() };
  // A bind at the root binds into jsonata's per-evaluation frame; nothing can follow it, so only its value matters.
  const result = ast.type === 'bind' ? g.bind(ast, root) : g.compile(ast, root);
  return g.finish(result);
}

class Gen {
  private lines: string[] = [];
  private temps: string[] = [];
  private slots = 0;
  private catches = 0;
  /** Built-ins the expression calls: a binding of the same name would shadow them, so the code bails on one. */
  private readonly calls = new Set<string>();

  private tmp(): string {
    const t = `t${this.temps.length}`;
    this.temps.push(t);
    return t;
  }

  private emit(line: string): void {
    this.lines.push(line);
  }

  /** Compiles into a separate buffer, for code that must run only on one branch or inside a try. */
  private capture(f: () => string): { body: string; value: string } {
    const saved = this.lines;
    this.lines = [];
    try {
      const value = f();
      return { body: this.lines.join('\n'), value };
    } finally {
      this.lines = saved;
    }
  }

  finish(result: string): string {
    const calls = [...this.calls].map((c) => `hasBinding(b, ${JSON.stringify(c)})`);
    return [
      `"use strict";`,
      `const { step, readVar, hasBinding, badRoot, arith, compare, eq, neq, concat, includes, neg, toBool, boolize,`,
      `  appendItem, setKey, call, round, relocate, isOurs, fail, bail, settle, BAIL, EMPTY } = rt;`,
      `return function compiledJsonata(input, b) {`,
      this.temps.length > 0 ? `let ${this.temps.join(', ')};` : '',
      this.slots > 0 ? `let ${Array.from({ length: this.slots }, (_, i) => `v${i}`).join(', ')};` : '',
      `try {`,
      `if (typeof b !== 'object' || b === null) b = EMPTY;`,
      `if (badRoot(input)) return BAIL;`,
      calls.length > 0 ? `if (b !== EMPTY && (${calls.join(' || ')})) return BAIL;` : '',
      ...this.lines,
      `return ${result};`,
      `} catch (x) { return settle(x); }`,
      `};`,
    ].filter((l) => l !== '').join('\n');
  }

  compile(n: Node, scope: Scope): string {
    switch (n.type) {
      case 'string':
        only(n, 'value');
        return JSON.stringify(n.value);
      case 'number':
        only(n, 'value');
        if (typeof n.value !== 'number') no('number literal');
        return num(n.value);
      case 'value':
        only(n, 'value');
        return n.value === null ? 'null' : n.value === true ? 'true' : n.value === false ? 'false' : no('value literal');
      case 'variable':
        return this.variable(n, scope);
      case 'path':
        return this.path(n, scope);
      case 'binary':
        return this.binary(n, scope);
      case 'unary':
        if (n.value === '-') return this.negate(n, scope);
        if (n.value === '[') return this.array(n, scope);
        if (n.value === '{') return this.object(n, scope);
        return no(`unary ${n.value}`);
      case 'condition':
        return this.condition(n, scope);
      case 'block':
        return this.block(n, scope);
      case 'function':
        return this.call(n, scope);
      default:
        return no(n.type);
    }
  }

  private variable(n: Node, scope: Scope): string {
    only(n, 'value');
    const name = n.value as string;
    // `$` is the context and `$$` the root; both are the input, since no construct we compile moves the context.
    if (name === '' || name === '$') return 'input';
    const slot = resolve(scope, name);
    if (slot !== undefined) return slot;
    const t = this.tmp();
    this.emit(`${t} = readVar(b, ${JSON.stringify(name)});`);
    return t;
  }

  private path(n: Node, scope: Scope): string {
    only(n, 'steps');
    const steps = n.steps as Node[];
    const first = steps[0];
    let expr: string;
    if (first.type === 'name') {
      only(first, 'value');
      expr = `step(input, ${JSON.stringify(first.value)})`;
    } else if (first.type === 'variable') {
      expr = this.variable(first, scope);
    } else {
      return no(`path starting with ${first.type}`);
    }
    for (const s of steps.slice(1)) {
      if (s.type !== 'name') no(`path step ${s.type}`);
      only(s, 'value');
      expr = `step(${expr}, ${JSON.stringify(s.value)})`;
    }
    const t = this.tmp();
    this.emit(`${t} = ${expr};`);
    return t;
  }

  private binary(n: Node, scope: Scope): string {
    only(n, 'value', 'lhs', 'rhs');
    const op = n.value as string;
    const pos = num(n.position);
    if (op === 'and' || op === 'or') return this.logical(n, scope);
    const known = ARITH.has(op) || COMPARE.has(op) || op === '=' || op === '!=' || op === '&' || op === 'in';
    if (!known) no(`operator ${op}`);
    const l = this.compile(n.lhs, scope);
    const r = this.compile(n.rhs, scope);
    const t = this.tmp();
    const o = JSON.stringify(op);
    let expr: string;
    if (ARITH.has(op)) {
      // Number literals are finite by construction (the parser rejects 1e400), so only computed operands are checked.
      const checks = [l, r].filter((_v, i) => [n.lhs, n.rhs][i].type !== 'number').map((v) => `Number.isFinite(${v})`);
      const fast = `${l} ${op} ${r}`;
      expr = checks.length === 0 ? fast : `${checks.join(' && ')} ? ${fast} : arith(${o}, ${l}, ${r}, ${pos})`;
    } else if (COMPARE.has(op)) {
      expr = `typeof ${l} === 'number' && typeof ${r} === 'number' ? ${l} ${op} ${r} : compare(${o}, ${l}, ${r}, ${pos})`;
    } else if (op === '&') {
      const checks = [l, r].filter((_v, i) => [n.lhs, n.rhs][i].type !== 'string').map((v) => `typeof ${v} === 'string'`);
      expr = checks.length === 0 ? `${l} + ${r}` : `${checks.join(' && ')} ? ${l} + ${r} : concat(${l}, ${r}, ${pos})`;
    } else if (op === '=') {
      expr = `eq(${l}, ${r})`;
    } else if (op === '!=') {
      expr = `neq(${l}, ${r})`;
    } else {
      expr = `includes(${l}, ${r})`;
    }
    this.emit(`${t} = ${expr};`);
    return t;
  }

  /** jsonata evaluates the right operand inside the operator's try, so even its errors take the and/or position. */
  private logical(n: Node, scope: Scope): string {
    const op = n.value as string;
    const l = this.compile(n.lhs, scope);
    const rhs = this.capture(() => this.compile(n.rhs, scope));
    const t = this.tmp();
    const x = `x${this.catches++}`;
    this.emit(
      `try { ${t} = boolize(${l}); if (${op === 'and' ? t : `!${t}`}) {\n${rhs.body}\n${t} = boolize(${rhs.value}); } }` +
        ` catch (${x}) { throw relocate(${x}, ${num(n.position)}, ${JSON.stringify(op)}); }`,
    );
    return t;
  }

  private negate(n: Node, scope: Scope): string {
    only(n, 'value', 'expression');
    const v = this.compile(n.expression, scope);
    const t = this.tmp();
    this.emit(`${t} = Number.isFinite(${v}) ? -${v} : neg(${v}, ${num(n.position)});`);
    return t;
  }

  private condition(n: Node, scope: Scope): string {
    only(n, 'condition', 'then', 'else');
    const c = this.compile(n.condition, scope);
    const then = this.capture(() => this.compile(n.then, scope));
    const otherwise = n.else === undefined ? null : this.capture(() => this.compile(n.else, scope));
    const t = this.tmp();
    let code = `if (toBool(${c})) {\n${then.body}\n${t} = ${then.value}; }`;
    if (otherwise) code += ` else {\n${otherwise.body}\n${t} = ${otherwise.value}; }`;
    this.emit(code);
    return t;
  }

  /** A block is a new frame: its binds are invisible outside it, and visible to the statements after them. */
  private block(n: Node, scope: Scope): string {
    only(n, 'expressions');
    const inner: Scope = { parent: scope, vars: new Map() };
    let result = 'undefined';
    for (const e of n.expressions as Node[]) result = e.type === 'bind' ? this.bind(e, inner) : this.compile(e, inner);
    return result;
  }

  bind(n: Node, scope: Scope): string {
    only(n, 'value', 'lhs', 'rhs');
    const lhs = n.lhs as Node;
    if (lhs.type !== 'variable') no('bind target');
    only(lhs, 'value');
    const name = lhs.value as string;
    if (name === '' || name === '$') no('binding the context');
    const value = this.compile(n.rhs, scope);
    const slot = `v${this.slots++}`;
    this.emit(`${slot} = ${value};`);
    scope.vars.set(name, slot);
    return slot;
  }

  /**
   * jsonata evaluates constructor members with Promise.all: every member runs, and the first to fail in
   * time wins. With at most one member able to throw, that one decides; with more, which one settles
   * first depends on the interpreter's await count, so two errors bail rather than guess. Members that
   * cannot throw run first, so a bail among them is never hidden behind an error.
   */
  private members(nodes: Node[], scope: Scope): string[] {
    const values: string[] = new Array(nodes.length);
    const throwing = nodes.map(canThrow);
    nodes.forEach((m, i) => {
      if (!throwing[i]) values[i] = this.compile(m, scope);
    });
    const fallible = nodes.map((_, i) => i).filter((i) => throwing[i]);
    if (fallible.length <= 1) {
      for (const i of fallible) values[i] = this.compile(nodes[i], scope);
      return values;
    }
    const err = this.tmp();
    const count = this.tmp();
    this.emit(`${count} = 0;`);
    for (const i of fallible) {
      const m = this.capture(() => this.compile(nodes[i], scope));
      const t = this.tmp();
      const x = `x${this.catches++}`;
      this.emit(`try {\n${m.body}\n${t} = ${m.value}; } catch (${x}) { if (!isOurs(${x})) throw ${x}; ${err} = ${x}; ${count}++; }`);
      values[i] = t;
    }
    this.emit(`if (${count} > 1) bail(); if (${count} === 1) throw ${err};`);
    return values;
  }

  private array(n: Node, scope: Scope): string {
    only(n, 'value', 'expressions');
    const items = n.expressions as Node[];
    const values = this.members(items, scope);
    const t = this.tmp();
    this.emit(`${t} = [];`);
    items.forEach((item, i) => {
      const v = values[i];
      // jsonata keeps the value of an item whose AST value is '[' (a nested constructor) whole and splices any other array in.
      if (isLiteral(item)) this.emit(`${t}.push(${v});`);
      else if (item.value === '[') this.emit(`if (${v} !== undefined) ${t}.push(${v});`);
      else this.emit(`if (${v} !== undefined) ${t} = appendItem(${t}, ${v});`);
    });
    return t;
  }

  private object(n: Node, scope: Scope): string {
    only(n, 'value', 'lhs');
    const pairs = n.lhs as Node[][];
    const keys: string[] = [];
    for (const [k] of pairs) {
      if (k.type !== 'string') no('object key that is not a string literal');
      only(k, 'value');
      keys.push(k.value);
    }
    // Keys are checked in order before any value runs; with literal keys the outcome is known now.
    const seen = new Set<string>();
    for (const key of keys) {
      const code = key === '_jsonata_lambda' || key === '_jsonata_function' ? 'D1013' : seen.has(key) ? 'D1009' : null;
      if (code) {
        this.emit(`throw fail(${JSON.stringify(code)}, { position: ${num(n.position)}, value: ${JSON.stringify(key)} });`);
        return 'undefined';
      }
      seen.add(key);
    }
    const values = this.members(pairs.map((p) => p[1]), scope);
    const t = this.tmp();
    this.emit(`${t} = {};`);
    keys.forEach((key, i) => {
      const v = values[i];
      const set = key === '__proto__' ? `setKey(${t}, "__proto__", ${v});` : `${t}[${JSON.stringify(key)}] = ${v};`;
      this.emit(isLiteral(pairs[i][1]) ? set : `if (${v} !== undefined) ${set}`);
    });
    return t;
  }

  private call(n: Node, scope: Scope): string {
    only(n, 'value', 'arguments', 'procedure');
    const proc = n.procedure as Node;
    if (proc.type !== 'variable') no('call of a computed function');
    only(proc, 'value');
    const name = proc.value as string;
    if (!BUILTINS.has(name)) no(`function $${name}`);
    if (resolve(scope, name) !== undefined) no(`call of a local $${name}`);
    this.calls.add(name);
    const args = (n.arguments as Node[]).map((a) => this.compile(a, scope));
    const slow = `call(${JSON.stringify(name)}, [${args.join(', ')}], input, ${num(n.position)})`;
    const t = this.tmp();
    const fast = fastCall(name, args);
    this.emit(`${t} = ${fast === null ? slow : `${fast.when} ? ${fast.value} : ${slow}`};`);
    return t;
  }
}
