/**
 * Runs the real jsonata under a time limit and a depth limit — the "timebox" of jsonata's own test
 * suite, built on its __evaluate_entry / __evaluate_exit hooks, with the clock injected because
 * src/core never reads one.
 *
 * Concurrency. jsonata 2.2.2 looks the hooks up by symbol from the frame being evaluated, so they are
 * registered once per Expression with assign() (into the expression's own frame, shared by every
 * evaluation). The state they update is not: each call gets a fresh { depth, started } object, passed
 * in its bindings, which jsonata binds into a new frame per evaluate(); the hooks find it with
 * environment.lookup() from whatever frame they run in. Two evaluations of one expression in flight at
 * once therefore never share a counter. The bindings key starts with a space, which no `$name` token
 * can contain, so an expression cannot read or overwrite it.
 *
 * Depth is the number of evaluate() frames of this evaluation currently open. jsonata evaluates
 * object and array constructor members with Promise.all, so open frames of sibling members add up;
 * that is also how jsonata's own `stack` option counts. The timebox's `environment.isParallelCall`
 * skip is not copied: that flag is a field of a shared frame, flipped by each Promise.all member, so an
 * entry and its exit can read different values and the counter drifts (a 20-deep recursion building
 * arrays leaves it at 60 instead of 0).
 */
import type jsonata from 'jsonata';

type Expression = ReturnType<typeof jsonata>;

export interface JsonataLimits {
  /** Longest an evaluation may run, in the unit of `now` (milliseconds). */
  timeoutMs: number;
  /** Most evaluate() frames an evaluation may have open at once. */
  maxDepth: number;
  /** Monotonic clock, e.g. performance.now. */
  now: () => number;
}

/** The error objects the timebox throws, and jsonata passes through with a position and token added. */
export interface GuardError {
  code: 'U1001';
  message: string;
  position?: number;
  token?: string;
}

const ENTRY = Symbol.for('jsonata.__evaluate_entry');
const EXIT = Symbol.for('jsonata.__evaluate_exit');
const STATE = ' bilhetagem:jsonata-guard';

interface GuardState {
  depth: number;
  started: number;
  limits: JsonataLimits;
  /** Once a limit is hit, members still running in parallel must stop too, not run to completion. */
  tripped: 'depth' | 'time' | null;
}

const MESSAGES = {
  depth: 'Stack overflow error: Check for non-terminating recursive function.  Consider rewriting as tail-recursive.',
  time: 'Expression evaluation timeout: Check for infinite loop',
} as const;

function check(s: GuardState): void {
  if (s.tripped === null) {
    if (s.depth > s.limits.maxDepth) s.tripped = 'depth';
    else if (s.limits.now() - s.started > s.limits.timeoutMs) s.tripped = 'time';
  }
  // A fresh object per throw: jsonata stamps position/token on what it catches, and one already handed to the caller must not change.
  if (s.tripped !== null) throw { code: 'U1001', message: MESSAGES[s.tripped], stack: new Error().stack } satisfies GuardError & { stack?: string };
}

interface Frame {
  lookup(name: string): unknown;
}

function onEntry(_expr: unknown, _input: unknown, environment: Frame): void {
  const s = environment.lookup(STATE) as GuardState | undefined;
  if (s === undefined) return; // evaluated without the guard
  s.depth++;
  check(s);
}

function onExit(_expr: unknown, _input: unknown, environment: Frame): void {
  const s = environment.lookup(STATE) as GuardState | undefined;
  if (s === undefined) return;
  s.depth--;
  check(s);
}

const guarded = new WeakSet<Expression>();

/** Evaluates with jsonata; rejects with jsonata's own error, or with a U1001 GuardError when a limit is hit. */
export function evaluateWithJsonata(
  expr: Expression,
  input: unknown,
  bindings: Record<string, unknown> | undefined,
  limits: JsonataLimits,
): Promise<unknown> {
  if (!guarded.has(expr)) {
    // The typings only admit string names; jsonata 2.2.2 binds symbols the same way.
    const target = expr as unknown as { assign(name: symbol, value: unknown): void };
    target.assign(ENTRY, onEntry);
    target.assign(EXIT, onExit);
    guarded.add(expr);
  }
  const state: GuardState = { depth: 0, started: limits.now(), limits, tripped: null };
  return expr.evaluate(input, { ...bindings, [STATE]: state });
}
