/**
 * The operators rules can use: json-rules-engine 7's defaults, its decorators (`someFact:`, `not:` ...),
 * and three string operators we add. The compiled pipeline calls these very functions, and the reference
 * engine registers the added ones, so both sides share one definition of every comparison.
 */
export type OperatorFn = (factValue: any, compareValue: any) => boolean;

interface OperatorDef {
  cb: OperatorFn;
  validator?: (factValue: any) => boolean;
}

// Same test as json-rules-engine's numberValidator, on purpose: it decides whether "10" < 20 is compared.
// For a number, parseFloat(String(n)) is n again (Infinity included), so the test is just "not NaN";
// that shortcut skips a number-to-string conversion on the hot path.
function numberValidator(factValue: unknown): boolean {
  if (typeof factValue === 'number') return factValue === factValue;
  return Number.parseFloat(factValue as string).toString() !== 'NaN';
}

const isString = (v: unknown): boolean => typeof v === 'string';

export const DEFAULT_OPERATORS: Record<string, OperatorDef> = {
  equal: { cb: (a, b) => a === b },
  notEqual: { cb: (a, b) => a !== b },
  in: { cb: (a, b) => b.indexOf(a) > -1 },
  notIn: { cb: (a, b) => b.indexOf(a) === -1 },
  contains: { cb: (a, b) => a.indexOf(b) > -1, validator: Array.isArray },
  doesNotContain: { cb: (a, b) => a.indexOf(b) === -1, validator: Array.isArray },
  lessThan: { cb: (a, b) => a < b, validator: numberValidator },
  lessThanInclusive: { cb: (a, b) => a <= b, validator: numberValidator },
  greaterThan: { cb: (a, b) => a > b, validator: numberValidator },
  greaterThanInclusive: { cb: (a, b) => a >= b, validator: numberValidator },
};

const regexCache = new Map<string, RegExp>();
function regex(pattern: unknown): RegExp {
  const key = String(pattern);
  let re = regexCache.get(key);
  if (!re) {
    re = new RegExp(key, 'u');
    regexCache.set(key, re);
  }
  return re;
}

/** Operators bilhetagem adds to json-rules-engine's (registered in the reference engine too). */
export const EXTRA_OPERATORS: Record<string, OperatorDef> = {
  startsWith: { cb: (a, b) => a.startsWith(b), validator: isString },
  endsWith: { cb: (a, b) => a.endsWith(b), validator: isString },
  matches: { cb: (a, b) => regex(b).test(a), validator: isString },
};

interface DecoratorDef {
  cb: (factValue: any, compareValue: any, next: OperatorFn) => boolean;
  validator?: (factValue: any) => boolean;
}

export const DECORATORS: Record<string, DecoratorDef> = {
  someFact: { cb: (f, v, next) => f.some((x: unknown) => next(x, v)), validator: Array.isArray },
  someValue: { cb: (f, v, next) => v.some((x: unknown) => next(f, x)) },
  everyFact: { cb: (f, v, next) => f.every((x: unknown) => next(x, v)), validator: Array.isArray },
  everyValue: { cb: (f, v, next) => v.every((x: unknown) => next(f, x)) },
  swap: { cb: (f, v, next) => next(v, f) },
  not: { cb: (f, v, next) => !next(f, v) },
};

const ALL_OPERATORS: Record<string, OperatorDef> = { ...DEFAULT_OPERATORS, ...EXTRA_OPERATORS };

function evaluator(def: OperatorDef): OperatorFn {
  const { cb, validator } = def;
  return validator ? (a, b) => validator(a) && cb(a, b) : cb;
}

/**
 * Resolves an operator name the way json-rules-engine's OperatorMap does: leading `decorator:` prefixes
 * wrap the named operator, the first prefix outermost. Returns undefined for an unknown name.
 */
export function resolveOperator(name: string): OperatorFn | undefined {
  const decorators: DecoratorDef[] = [];
  let opName = name;
  while (!Object.hasOwn(ALL_OPERATORS, opName)) {
    const i = opName.indexOf(':');
    if (i <= 0) return undefined;
    const dec = DECORATORS[opName.slice(0, i)];
    if (!dec || !Object.hasOwn(DECORATORS, opName.slice(0, i))) return undefined;
    decorators.unshift(dec);
    opName = opName.slice(i + 1);
  }
  let op = evaluator(ALL_OPERATORS[opName]);
  for (const dec of decorators) {
    const next = op;
    op = evaluator({ cb: (a, b) => dec.cb(a, b, next), validator: dec.validator });
  }
  return op;
}

export const OPERATOR_NAMES = Object.keys(ALL_OPERATORS);
export const DECORATOR_NAMES = Object.keys(DECORATORS);
