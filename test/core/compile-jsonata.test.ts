import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { BAIL, compileJsonata } from '../../src/core/compile-jsonata.ts';
import { prng as mulberry32 } from '../support/corpus.ts';

// Deterministic: every expression gets its own seeded stream, so a failure names a reproducible case.
type Rng = () => number;
const pick = <T>(rng: Rng, list: readonly T[]): T => list[Math.floor(rng() * list.length)];

const NUMBERS = [0, -0, 1, 2, 3, 60, 61, 59.5, 0.0005, 0.0015, 2.675, 1.005, 2.5, 3.5, -2.5, -7, 0.1, 0.2, 1e308, -1e308, 5e-324, 1e21, 123456789.12345679, 1000000, 3600, NaN, Infinity];
const STRINGS = ['', 'a', 'abc', 'a,b,c', 'b', '60', '1e3', ' 1', '0x1F', '-12.5', 'true', 'null', 'ünïcødé', '😀🎉x', '  spaced \t out  ', '__proto__', 'constructor', 'VOICE_OUT', 'gold', '2024-01-01T00:00:00Z', '$1 $$ $0'];
const ARRAYS = () => [[], [1, 2, 3], ['a', 'b'], [1, 'a'], [[1]], [{ a: 1 }], [5], ['x']];
const OBJECTS = () => [{}, { a: 1 }, { plan: 'gold' }, { duration_s: 61 }, { b: { c: 2 } }, JSON.parse('{"__proto__": {"plan": "evil"}, "a": 1}'), { constructor: 5 }];

function anyValue(rng: Rng, depth = 0): unknown {
  const r = rng();
  if (r < 0.3) return pick(rng, NUMBERS);
  if (r < 0.6) return pick(rng, STRINGS);
  if (r < 0.68) return rng() < 0.5;
  if (r < 0.74) return null;
  if (r < 0.84) return pick(rng, ARRAYS());
  if (r < 0.95 || depth > 1) return pick(rng, OBJECTS());
  return { a: anyValue(rng, depth + 1), n: anyValue(rng, depth + 1) };
}

/** Mostly the type a mapping expects, sometimes anything, sometimes missing. */
function field(rng: Rng, typical: () => unknown): unknown {
  const r = rng();
  if (r < 0.55) return typical();
  if (r < 0.85) return anyValue(rng);
  return undefined;
}

function record(rng: Rng): unknown {
  const r = rng();
  if (r < 0.03) return pick(rng, [null, 'just a string', 42, undefined, [{ a: 1 }, { a: 2 }]]);
  const rec: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => {
    if (v !== undefined) rec[k] = v;
  };
  set('source', field(rng, () => pick(rng, ['switch-1', 'pbx', 'ü-src'])));
  set('id', field(rng, () => (rng() < 0.5 ? `id-${Math.floor(rng() * 1000)}` : Math.floor(rng() * 1000))));
  set('subject', field(rng, () => pick(rng, ['acct-1', 'acct-2'])));
  set('time', field(rng, () => '2024-05-01T10:00:00Z'));
  set('a', field(rng, () => pick(rng, STRINGS)));
  set('b', field(rng, () => pick(rng, NUMBERS)));
  set('s', field(rng, () => pick(rng, STRINGS)));
  set('n', field(rng, () => pick(rng, NUMBERS)));
  set('m', field(rng, () => pick(rng, NUMBERS)));
  set('flag', field(rng, () => rng() < 0.5));
  set('tags', field(rng, () => pick(rng, ARRAYS())));
  set(
    'data',
    field(rng, () => {
      const d: Record<string, unknown> = {};
      const put = (k: string, v: unknown) => {
        if (v !== undefined) d[k] = v;
      };
      put('duration_s', field(rng, () => pick(rng, NUMBERS)));
      put('gb', field(rng, () => pick(rng, NUMBERS)));
      put('bytes', field(rng, () => pick(rng, [0, 1, 999999, 1000000, 1000001, 5e9, 1e308])));
      put('segments', field(rng, () => Math.floor(rng() * 5)));
      put('region', field(rng, () => pick(rng, ['eu', 'us'])));
      put('apn', field(rng, () => 'internet'));
      put('x y', field(rng, () => pick(rng, STRINGS)));
      return d;
    }),
  );
  if (rng() < 0.05) {
    // JSON.parse makes "__proto__" an own key, as a record from the wire would have it.
    const rest = JSON.stringify(rec).slice(1);
    return JSON.parse(`{"__proto__":{"polluted":true}${rest === '}' ? '' : ','}${rest}`);
  }
  return rec;
}

function bindings(rng: Rng): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => {
    if (v !== undefined) b[k] = v;
  };
  set('customer', field(rng, () => ({ plan: pick(rng, ['gold', 'basic']) })));
  set('now', field(rng, () => '2024-05-01T10:00:00.000Z'));
  set('rate', field(rng, () => pick(rng, NUMBERS)));
  set('nums', field(rng, () => pick(rng, [[1, 2, 3], [], [0.1, 0.2], [1e308, 1e308]])));
  set('tags', field(rng, () => pick(rng, ARRAYS())));
  set('annotations', field(rng, () => ({ premium: { rate_class: pick(rng, ['A', 'B']) } })));
  return b;
}

const VOICE = '{ "idempotency_key": source & ":" & id, "account": subject, "sku": "VOICE_OUT", "quantity": $ceil(data.duration_s / 60), "unit": "minute", "occurred_at": time, "plan": $customer.plan }';
const STORAGE_QTY = '{ "quantity": $round(data.gb, 3) }';
const DATA_MB = '$ceil(data.bytes / 1000000)';
// The mappings shipped in mappings/default, as they read when this test was written.
const SHIPPED = {
  voice: '{ "idempotency_key": source & ":" & id, "account": subject, "sku": "VOICE_OUT", "quantity": $ceil(data.duration_s / 60), "unit": "minute", "occurred_at": time, "plan": $customer.plan, "region": data.region, "rate_class": $annotations.premium.rate_class, "source": source, "record_id": id }',
  sms: '{ "idempotency_key": source & ":" & id, "account": subject, "sku": "SMS", "quantity": data.segments, "unit": "message", "occurred_at": time, "plan": $customer.plan, "region": data.region, "source": source, "record_id": id }',
  data: '{ "idempotency_key": source & ":" & id, "account": subject, "sku": "DATA_MB", "quantity": $ceil(data.bytes / 1000000), "unit": "MB", "occurred_at": time, "plan": $customer.plan, "apn": data.apn, "source": source, "record_id": id }',
  storage: '{ "idempotency_key": source & ":" & id, "account": subject, "sku": "STORAGE_GBH", "quantity": $round(data.gb, 3), "unit": "GB-hour", "occurred_at": time, "plan": $customer.plan, "source": source, "record_id": id }',
};

const EXPRESSIONS = [
  VOICE, STORAGE_QTY, DATA_MB, ...Object.values(SHIPPED),
  'data.duration_s', 'data.`x y`', 'a.b.c', '$', '$$.data.gb', '$.s', '"literal"', '42', '-0', 'true', 'null',
  '$customer.plan', '$now', '$rate * data.gb', '$annotations.premium.rate_class', '$tags', '$nums',
  '($q := data.gb * 1000; $round($q, 2))',
  '($a := 1; $b := $a + n; ($a := 100; $b + $a) + $a)',
  '($s := s; $s := $s & "!"; [$s, ($s := 1; $s)])',
  '$x := n * 2',
  '[a, b, 1]', '[a, [b], [1, 2], tags, $tags]', '[$split(s, ","), n]', '[]', '{}',
  'n + m', 'n - m', 'n * m', 'n / m', 'n % m', '-n', '-(n * m)', 'n / 0', '(0 / 0) & ""',
  's & n', 's & "/" & m & data', 'tags & flag',
  'n = m', 'n != m', 'a = "abc"', 'data = {"duration_s": 61}', 'tags = [1, 2, 3]',
  'n < m', 'n <= m', 'n > m', 'n >= m', 's < "m"', 'a > s',
  'flag and n', 'flag or s', 'n > 0 and s', 'a or (n + s)', '$not(n > 1) or $boolean(s)',
  's in ["a", "abc", ""]', 'n in [1, 2, 3]', 'n in m', 'b in $nums',
  'n > 10 ? "big" : "small"', 'flag ? n', 's ? s : "default"', 'data ? $ceil(data.gb) : -1',
  '$string(n)', '$string(data)', '$string(tags, true)', '$string()', '$string(n * 1.1)',
  '$number(s)', '$number(n)', '$number(flag)', '$number()',
  '$boolean(a)', '$not(a)', '$exists(a)', '$exists(data.gb)', '$exists()',
  '$lookup(data, s)', '$lookup($customer, "plan")', '$lookup("s")',
  '$uppercase(s)', '$lowercase(a)', '$uppercase(0)', '$trim(s)', '$length(s)', '$length()',
  '$substring(s, 1)', '$substring(s, n, 2)', '$substring(s, -3)', '$substring(n, 1)',
  '$substringBefore(s, ",")', '$substringAfter(s, a)',
  '$contains(s, "b")', '$contains(s, a)',
  '$join($tags, ",")', '$join([s, "x"], "-")', '$join(s)',
  '$sum([n, m, 1])', '$sum($nums)', '$max([n, m])', '$min($nums)', '$count([a, b])', '$count($tags)', '$count(s)',
  '$split(s, ",")', '$split(s, ",", n)', '$split(s, a)',
  '$replace(s, "a", "X")', '$replace(s, "b", s, n)', '$replace(s, a, "-")', '$replace(s, "", "-")',
  '$abs(n)', '$floor(n)', '$ceil(b)', '$round(n)', '$round(n, 2)', '$round(data.gb, m)', '$round(2.675, 2)', '$round(0.0015, 3)', '$round(-0.5)',
  '{ "a": a, "b": { "c": n + 1, "d": s & "x" }, "e": [n, m] }',
  '{ "__proto__": a, "constructor": n, "toString": s }',
  '{ "x": 1, "x": 2 }', '{ "_jsonata_lambda": 1 }',
  '{ "p": n + m, "q": s & "!", "r": a }',
  '$customer.plan = "gold" ? $rate : 0',
  'data.gb * 1024 * 1024 * 1024',
  '(n; m; s)', '()', 'a ?: b', 'data.gb ?? -1',
];

interface Outcome {
  value?: string;
  error?: { code: unknown; position: unknown; token: unknown; message: unknown };
  foreign?: boolean;
}

// JSON round trip, as the brief defines equality; key order is kept, so it is compared too.
const normal = (v: unknown) => (v === undefined ? 'undefined' : JSON.stringify(v));
const errorOf = (e: any) => ({ code: e.code, position: e.position, token: e.token, message: e.message });

async function reference(src: string, input: unknown, b: Record<string, unknown>): Promise<Outcome> {
  try {
    return { value: normal(await jsonata(src).evaluate(input, b)) };
  } catch (e: any) {
    return typeof e?.code === 'string' ? { error: errorOf(e) } : { foreign: true };
  }
}

describe('compileJsonata, differential against jsonata 2.2.2', () => {
  const INPUTS_PER_EXPRESSION = 300;
  const stats = { compared: 0, bailed: 0, errors: 0 };

  it(`has at least 60 compiled expressions (${EXPRESSIONS.length})`, () => {
    expect(EXPRESSIONS.length).toBeGreaterThanOrEqual(60);
    expect(new Set(EXPRESSIONS).size).toBe(EXPRESSIONS.length);
  });

  EXPRESSIONS.forEach((src, index) => {
    it(`agrees on ${src}`, async () => {
      const compiled = compileJsonata(src);
      expect(compiled, 'should compile').not.toBeNull();
      const rng = mulberry32(1000 + index);
      let fast = 0;
      for (let i = 0; i < INPUTS_PER_EXPRESSION; i++) {
        const input = record(rng);
        const b = bindings(rng);
        const want = await reference(src, input, b);
        let got: Outcome | 'bail';
        try {
          const r = compiled!.evaluate(input, b);
          got = r === BAIL ? 'bail' : { value: normal(r) };
        } catch (e) {
          got = { error: errorOf(e) };
        }
        if (got === 'bail') {
          stats.bailed++;
          continue;
        }
        fast++;
        stats.compared++;
        if (want.error) stats.errors++;
        const context = { src, case: i, input: JSON.stringify(input), bindings: JSON.stringify(b) };
        expect({ ...context, ...got }, 'a foreign exception in jsonata must make the compiled code bail').toEqual({ ...context, ...want });
      }
      expect(fast, 'the fast path should serve some inputs').toBeGreaterThan(0);
    });
  });

  it('compared thousands of cases, errors included, and bailed on few even with messy input', () => {
    expect(stats.compared).toBeGreaterThan(EXPRESSIONS.length * INPUTS_PER_EXPRESSION * 0.5);
    expect(stats.errors).toBeGreaterThan(1000);
    expect(stats.bailed).toBeLessThan(stats.compared / 5);
  });
});

/** Random expressions over the compiled subset: constructs meet each other in ways a fixed list does not. */
function randomExpression(rng: Rng, depth: number, locals: string[]): string {
  const leaf = () =>
    pick(rng, [
      () => pick(rng, ['"a"', '"abc"', '"a,b"', '""', '"1"']),
      () => pick(rng, ['0', '1', '2.5', '-3', '60', '0.0015', '1e308']),
      () => pick(rng, ['true', 'false', 'null']),
      () => pick(rng, ['a', 'b', 's', 'n', 'data.gb', 'data.`x y`', 'missing.deeper', '$', '$$.n']),
      () => `$${pick(rng, ['rate', 'tags', 'nums', 'customer', 'customer.plan', 'absent', ...locals])}`,
    ])();
  if (depth <= 0 || rng() < 0.2) return leaf();
  const sub = (extra: string[] = []) => randomExpression(rng, depth - 1, [...locals, ...extra]);
  const k = rng();
  if (k < 0.3) return `(${sub()} ${pick(rng, ['+', '-', '*', '/', '%', '&', '=', '!=', '<', '<=', '>', '>=', 'and', 'or', 'in'])} ${sub()})`;
  if (k < 0.36) return `-${sub()}`;
  if (k < 0.44) return rng() < 0.8 ? `(${sub()} ? ${sub()}${rng() < 0.7 ? ` : ${sub()}` : ''})` : `(${sub()} ${pick(rng, ['?:', '??'])} ${sub()})`;
  if (k < 0.52) return `[${Array.from({ length: Math.floor(rng() * 4) }, () => sub()).join(', ')}]`;
  if (k < 0.6) return `{${Array.from({ length: Math.floor(rng() * 4) }, () => `${JSON.stringify(pick(rng, ['k', 'l', 'm', '__proto__']))}: ${sub()}`).join(', ')}}`;
  if (k < 0.7) {
    const v = pick(rng, ['t', 'u']);
    return `($${v} := ${sub()}; ${sub([v])})`;
  }
  const [name, min, max] = pick(rng, FUNCTIONS);
  const n = min + Math.floor(rng() * (max - min + 1));
  return `$${name}(${Array.from({ length: n }, () => sub()).join(', ')})`;
}
const FUNCTIONS: [string, number, number][] = [
  ['ceil', 1, 1], ['floor', 1, 1], ['round', 1, 2], ['abs', 1, 1], ['string', 0, 2], ['number', 0, 1], ['boolean', 0, 1],
  ['not', 0, 1], ['exists', 0, 1], ['lookup', 1, 2], ['uppercase', 0, 1], ['lowercase', 0, 1], ['substring', 1, 3],
  ['substringBefore', 1, 2], ['substringAfter', 1, 2], ['contains', 1, 2], ['join', 0, 2], ['length', 0, 1], ['trim', 0, 1],
  ['sum', 0, 1], ['max', 0, 1], ['min', 0, 1], ['count', 0, 1], ['split', 1, 3], ['replace', 2, 4],
];

describe('compileJsonata, differential on random expressions', () => {
  const rng = mulberry32(42);
  const sources = Array.from({ length: 200 }, () => randomExpression(rng, 1 + Math.floor(rng() * 4), []));

  it('compiles every expression of the subset and agrees with jsonata on each input', async () => {
    let compared = 0;
    for (const [index, src] of sources.entries()) {
      const compiled = compileJsonata(src);
      expect(compiled, src).not.toBeNull();
      const inputs = mulberry32(index);
      for (let i = 0; i < 20; i++) {
        const input = record(inputs);
        const b = bindings(inputs);
        const want = await reference(src, input, b);
        let got: Outcome;
        try {
          const r = compiled!.evaluate(input, b);
          if (r === BAIL) continue;
          got = { value: normal(r) };
        } catch (e) {
          got = { error: errorOf(e) };
        }
        compared++;
        expect({ src, input: JSON.stringify(input), bindings: JSON.stringify(b), ...got }).toEqual({ src, input: JSON.stringify(input), bindings: JSON.stringify(b), ...want });
      }
    }
    expect(compared).toBeGreaterThan(sources.length * 20 * 0.7);
  });
});

describe('the shipped mappings take the fast path', () => {
  const wellFormed = (rng: Rng) => ({
    specversion: '1.0',
    type: 'voice.call.completed',
    source: pick(rng, ['switch-1', 'pbx-eu']),
    id: `rec-${Math.floor(rng() * 1e6)}`,
    subject: `acct-${Math.floor(rng() * 100)}`,
    time: '2024-05-01T10:00:00Z',
    data: {
      duration_s: Math.floor(rng() * 7200),
      gb: Math.round(rng() * 1e6) / 1e4,
      bytes: Math.floor(rng() * 1e10),
      segments: 1 + Math.floor(rng() * 3),
      region: pick(rng, ['eu', 'us']),
      apn: 'internet',
    },
  });

  for (const [name, src] of Object.entries({ VOICE, STORAGE_QTY, DATA_MB, ...SHIPPED })) {
    it(`never bails on well-formed records: ${name}`, async () => {
      const compiled = compileJsonata(src)!;
      const rng = mulberry32(7);
      for (let i = 0; i < 200; i++) {
        const input = JSON.parse(JSON.stringify(wellFormed(rng)));
        const b = { customer: { plan: pick(rng, ['gold', 'basic']) }, annotations: rng() < 0.5 ? {} : { premium: { rate_class: 'A' } }, now: '2024-05-01T10:00:00.000Z' };
        const got = compiled.evaluate(input, b);
        expect(got).not.toBe(BAIL);
        expect(normal(got)).toBe(normal(await jsonata(src).evaluate(input, b)));
      }
    });
  }
});

describe('what the compiler refuses', () => {
  it.each([
    'a.b[0]', 'a[x > 1]', 'a[]', 'a.*', '**.a', 'a.%.b', 'a^(b)', 'a{ "k": b }', '{ a: 1 }', '[1..3]', 'a.(b)',
    'a.$string()', '$x.$y', '$map(a, function($v){ $v })', 'function($x){ $x }', 'a ~> $string', '$match(s, /a/)',
    '$replace(s, /a/, "b")', '$split(s, /,/)', '$now()', '$average([1])', '$sort(a)', '$f(1)', '($string := 1; $string(2))',
    'a@$x', 'a#$i', '$ ~> |a|{"b": 1}|', '$eval("1")', '{ "k": $v := 1 }',
  ])('returns null for %s', (src) => {
    expect(compileJsonata(src)).toBeNull();
  });

  it('rethrows jsonata\'s own parse error', () => {
    let expected: any;
    try {
      jsonata('{ "a": }');
    } catch (e) {
      expected = e;
    }
    expect(() => compileJsonata('{ "a": }')).toThrow(expect.objectContaining({ code: expected.code, position: expected.position }));
  });

  it.each([VOICE, '($a := 1; $a)', '$string($customer)', '{ "a": [1, [2]], "b": -x }', '$lowercase(60)', '--3', '-(-0)'])('compiles %s', (src) => {
    const compiled = compileJsonata(src);
    expect(compiled).not.toBeNull();
    expect(compiled!.source).toContain('function');
  });
});

describe('when the compiled code hands over to jsonata', () => {
  const voice = compileJsonata(VOICE)!;
  const input = { source: 's', id: '1', subject: 'a', time: 't', data: { duration_s: 61 } };

  it('bails when a binding shadows a built-in the expression calls', async () => {
    expect(voice.evaluate(input, { ceil: 5 })).toBe(BAIL);
    await expect(jsonata(VOICE).evaluate(input, { ceil: 5 })).rejects.toMatchObject({ code: 'T1006' });
  });

  it('bails on a built-in read as a value, a function or a promise in the bindings', () => {
    expect(compileJsonata('$string')!.evaluate({}, {})).toBe(BAIL);
    expect(compileJsonata('$f')!.evaluate({}, { f: () => 1 })).toBe(BAIL);
    expect(compileJsonata('$p + 1')!.evaluate({}, { p: Promise.resolve(1) })).toBe(BAIL);
  });

  it('bails on an array input, and on an array met by a path', () => {
    expect(voice.evaluate([input], {})).toBe(BAIL);
    expect(voice.evaluate({ ...input, data: [{ duration_s: 61 }] }, {})).toBe(BAIL);
    expect(compileJsonata('data')!.evaluate({ data: [1] }, {})).toBe(BAIL);
  });

  it('treats missing bindings as none', () => {
    expect(compileJsonata('$customer.plan & "x"')!.evaluate({}, undefined as any)).toBe('x');
  });

  it('bails rather than pick between two failing object members', async () => {
    const src = '{ "a": "x" + 1, "b": $ceil("s") }';
    expect(compileJsonata(src)!.evaluate({}, {})).toBe(BAIL);
  });

  it('throws the same error as jsonata when exactly one member fails', async () => {
    const src = '{ "a": "x" + 1, "b": s }';
    const want = await jsonata(src).evaluate({}, {}).catch(errorOf);
    expect(() => compileJsonata(src)!.evaluate({}, {})).toThrow(expect.objectContaining(want));
    expect(want.code).toBe('T2001');
  });
});
