/**
 * JSONata-shaped errors and the bail signal used by compiled expressions.
 *
 * Compiled code throws two kinds of things: error objects shaped like jsonata's own (so a caller cannot
 * tell which engine produced them), and the private BAIL_SIGNAL, which unwinds to the entry point and
 * becomes the public BAIL return value. Anything else that escapes (a TypeError from a getter, a stack
 * overflow) also becomes BAIL: jsonata then runs and decides, which is always safe.
 */

/** Returned by a compiled expression when this input leaves the fast path; the caller runs jsonata. */
export const BAIL: unique symbol = Symbol('bilhetagem.jsonata.bail');

export interface JsonataError {
  code: string;
  message?: string;
  position?: number;
  token?: string;
  value?: unknown;
  value2?: unknown;
  index?: number;
  type?: string;
}

const BAIL_SIGNAL = Object.freeze({ bail: true });

export function bail(): never {
  throw BAIL_SIGNAL;
}

// Marks the objects we created, so a foreign exception is never mistaken for a JSONata verdict.
const ours = new WeakSet<object>();

export function fail(code: string, fields: Omit<JsonataError, 'code'> = {}): JsonataError {
  const e: JsonataError = { code, ...fields };
  ours.add(e);
  return e;
}

export function isOurs(e: unknown): e is JsonataError {
  return typeof e === 'object' && e !== null && ours.has(e);
}

/** jsonata's binary operators stamp their own position/token on whatever their operands' computation threw. */
export function relocate(e: unknown, position: number, token: string): unknown {
  if (isOurs(e)) {
    e.position = position;
    e.token = token;
  }
  return e;
}

/** jsonata's function application keeps a token set by the callee, and always takes the call site's position. */
export function relocateCall(e: unknown, position: number, name: string): unknown {
  if (isOurs(e)) {
    if (e.token === undefined) e.token = name;
    e.position = position;
  }
  return e;
}

// Copied from jsonata 2.2.2 (errorCodes in jsonata.js) for every code compiled code can raise, so messages match.
const templates: Record<string, string> = {
  T0410: 'Argument {{index}} of function {{token}} does not match function signature',
  T0411: 'Context value is not a compatible type with argument {{index}} of function {{token}}',
  T0412: 'Argument {{index}} of function {{token}} must be an array of {{type}}',
  D1001: 'Number out of range: {{value}}',
  D1002: 'Cannot negate a non-numeric value: {{value}}',
  D1009: 'Multiple key definitions evaluate to same key: {{value}}',
  D1013: 'Object property names starting with _jsonata_ are reserved for internal use: {{value}}',
  T2001: 'The left side of the {{token}} operator must evaluate to a number',
  T2002: 'The right side of the {{token}} operator must evaluate to a number',
  T2009: 'The values {{value}} and {{value2}} either side of operator {{token}} must be of the same data type',
  T2010: 'The expressions either side of operator {{token}} must evaluate to numeric or string values',
  D3001: 'Attempting to invoke string function on Infinity or NaN',
  D3010: 'Second argument of replace function cannot be an empty string',
  D3011: 'Fourth argument of replace function must evaluate to a positive number',
  D3020: 'Third argument of split function must evaluate to a positive number',
  D3030: 'Unable to cast value to a number: {{value}}',
};

/** Same substitution rules as jsonata's populateMessage: {{{x}}} raw, {{x}} JSON-encoded. */
function populateMessage(e: JsonataError): void {
  const template = templates[e.code];
  if (template === undefined) return;
  const fields = e as unknown as Record<string, unknown>;
  e.message = template
    .replace(/\{\{\{([^}]+)}}}/g, (_m, name: string) => String(fields[name]))
    .replace(/\{\{([^}]+)}}/g, (_m, name: string) => JSON.stringify(fields[name]) as string);
}

/** The entry point's catch: a JSONata error is finished and rethrown, anything else means "let jsonata decide". */
export function settle(e: unknown): typeof BAIL {
  if (isOurs(e)) {
    populateMessage(e);
    throw e;
  }
  return BAIL;
}
