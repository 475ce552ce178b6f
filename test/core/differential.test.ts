import { describe, it, expect, beforeAll } from 'vitest';
import { loadRuleset, createPipeline, createReferencePipeline, type PipelineResult, type Ruleset } from '../../src/index.ts';
import { RULES_DIR, MAPPINGS_DIR } from '../support/ruleset.ts';
import { generateCorpus, CORPUS_NOW } from '../support/corpus.ts';

/** What must be identical between the compiled pipeline and json-rules-engine + jsonata. */
function essence(r: PipelineResult) {
  switch (r.verdict) {
    case 'accepted':
      return { verdict: r.verdict, outputs: JSON.parse(JSON.stringify(r.outputs)), annotations: r.annotations.map((a) => a.rule) };
    case 'skipped':
      return { verdict: r.verdict, code: r.code, rule: r.rule };
    case 'rejected':
      return { verdict: r.verdict, errors: r.errors.map((e) => ({ code: e.code, rule: e.rule, path: e.path })) };
  }
}

let ruleset: Ruleset;
beforeAll(async () => {
  ruleset = await loadRuleset({ rules: RULES_DIR, mappings: MAPPINGS_DIR });
});

describe('differential: compiled pipeline vs json-rules-engine + jsonata', () => {
  it('gives identical verdicts, codes and outputs on 12,000 generated records', async () => {
    const corpus = generateCorpus(12_000, 20261125);
    // Semantics, not the guard: on a loaded machine an interpreted evaluation can stall past the default
    // 100 ms limit and fail one side with MAPPING_FAILED (the guard has its own tests).
    const fast = createPipeline(ruleset, { mappingTimeoutMs: 60_000 });
    const ref = createReferencePipeline(ruleset, { mappingTimeoutMs: 60_000 });
    const tally: Record<string, number> = {};
    const mismatches: unknown[] = [];
    for (let i = 0; i < corpus.length; i++) {
      const a = await fast.process(corpus[i], { now: CORPUS_NOW });
      const b = await ref.process(corpus[i], { now: CORPUS_NOW });
      tally[a.verdict] = (tally[a.verdict] ?? 0) + 1;
      const ea = essence(a);
      const eb = essence(b);
      if (JSON.stringify(ea) !== JSON.stringify(eb) && mismatches.length < 5) mismatches.push({ i, record: corpus[i], compiled: ea, reference: eb });
    }
    expect(mismatches).toEqual([]);
    // The corpus really exercises every verdict.
    expect(tally.accepted).toBeGreaterThan(3000);
    expect(tally.rejected).toBeGreaterThan(1000);
    expect(tally.skipped).toBeGreaterThan(200);
  }, 120_000);

  it('every code of the default ruleset occurs in the corpus', async () => {
    const corpus = generateCorpus(12_000, 20261125);
    const fast = createPipeline(ruleset);
    const seen = new Set<string>();
    for (const r of await fast.processBatch(corpus, { now: CORPUS_NOW })) {
      if (r.verdict === 'rejected') r.errors.forEach((e) => seen.add(e.code));
      if (r.verdict === 'skipped') seen.add(r.code);
    }
    for (const code of ['TIME_IN_FUTURE', 'TIME_TOO_OLD', 'UNKNOWN_CUSTOMER', 'CUSTOMER_SUSPENDED', 'UNKNOWN_TYPE', 'PREMIUM_NOT_ALLOWED', 'INBOUND_NOT_BILLED', 'ZERO_DURATION', 'ZERO_USAGE', 'SCHEMA_VIOLATION', 'NOT_AN_OBJECT']) {
      expect(seen, code).toContain(code);
    }
  });

  it('every shipped mapping is compiled, and stays on the fast path for every accepted record of the corpus', async () => {
    const { compileJsonata, BAIL } = await import('../../src/core/compile-jsonata.ts');
    const { parseTime } = await import('../../src/core/facts.ts');
    const fast = createPipeline(ruleset);
    const compiled = new Map<string, NonNullable<ReturnType<typeof compileJsonata>>>();
    for (const [target, byType] of Object.entries(ruleset.mappings)) {
      for (const [type, m] of Object.entries(byType)) {
        const c = compileJsonata(m.expression);
        expect(c, `${target}/${type} falls back to the interpreter`).not.toBeNull();
        compiled.set(`${target}/${type}`, c!);
      }
    }
    expect(compiled.size).toBe(16);
    let checked = 0;
    for (const record of generateCorpus(2_000, 7)) {
      const r = await fast.process(record, { now: CORPUS_NOW });
      if (r.verdict !== 'accepted') continue;
      const rec = record as { type: string; subject: string; time: string };
      const customer = ruleset.reference.customers.rows.find((row) => row.id === rec.subject);
      const annotations = Object.fromEntries(r.annotations.map((a) => [a.type, a.params ?? {}]));
      const bindings = { customer, annotations, now: new Date(CORPUS_NOW).toISOString(), time_ms: parseTime(rec.time) };
      for (const target of fast.targets) {
        const out = compiled.get(`${target}/${rec.type}`)!.evaluate(record, bindings);
        expect(out, `${target}/${rec.type} left the fast path`).not.toBe(BAIL);
        expect(JSON.parse(JSON.stringify(out))).toEqual(r.outputs[target]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(2_000);
  });
});
