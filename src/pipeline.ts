import { performance } from 'node:perf_hooks';
import { buildCorePipeline, type Explanation } from './core/pipeline.ts';
import { buildReferencePipeline } from './core/reference-pipeline.ts';
import { BilhetagemError, ErrorCodes, OptionsError } from './errors.ts';
import { parseTime } from './core/facts.ts';
import type { Ruleset } from './core/ruleset/types.ts';
import type { PipelineResult, ProcessOptions } from './types.ts';

export interface PipelineOptions {
  /** Targets to map accepted records to. Default: every target that has mappings. */
  targets?: string[];
  /** Where "now" comes from when process() is not given one. Default: Date.now. */
  clock?: () => number;
  /** Time limit of one interpreted mapping evaluation, ms. Default 100. */
  mappingTimeoutMs?: number;
  /** Depth limit of one interpreted mapping evaluation. Default 500. */
  mappingMaxDepth?: number;
  /** Compile mappings to plain functions (true, the default) or always run the JSONata interpreter. */
  compile?: boolean;
}

export const PIPELINE_DEFAULTS = {
  mappingTimeoutMs: 100,
  mappingMaxDepth: 500,
  compile: true,
} as const;

const KNOWN_OPTIONS = new Set(['targets', 'clock', 'mappingTimeoutMs', 'mappingMaxDepth', 'compile']);

export interface Pipeline {
  readonly ruleset: Ruleset;
  /** The ruleset version every result carries. */
  readonly version: string;
  readonly targets: readonly string[];
  /** Judges and transforms one record. Never rejects for a bad record: that is a `rejected` verdict. */
  process(record: unknown, options?: ProcessOptions): Promise<PipelineResult>;
  /** The same for many records; results in input order. */
  processBatch(records: readonly unknown[], options?: ProcessOptions): Promise<PipelineResult[]>;
  /**
   * Synchronous form for hot loops: returns the result, or a promise when a mapping needed the JSONata
   * interpreter (a construct the compiler does not take, or data off its fast path).
   */
  processMaybeSync(record: unknown, nowMs: number): PipelineResult | Promise<PipelineResult>;
  /** The whole decision: schema result, every rule with each condition's values, events, mapping output. */
  explain(record: unknown, options?: ProcessOptions): Promise<Explanation>;
}

/** Compiles a ruleset once (schemas, rules, mappings); the returned pipeline only runs them. */
export function createPipeline(ruleset: Ruleset, options: PipelineOptions = {}): Pipeline {
  const resolved = resolveOptions(ruleset, options);
  const core = buildCorePipeline(ruleset, {
    targets: resolved.targets,
    compileMappings: resolved.compile,
    limits: { timeoutMs: resolved.mappingTimeoutMs, maxDepth: resolved.mappingMaxDepth, clock: () => performance.now() },
  });
  const nowOf = (o?: ProcessOptions) => resolveNow(o?.now, resolved.clock);
  return {
    ruleset,
    version: core.version,
    targets: resolved.targets,
    async process(record, o) {
      return core.run(record, nowOf(o));
    },
    async processBatch(records, o) {
      const now = nowOf(o);
      const out: (PipelineResult | Promise<PipelineResult>)[] = new Array(records.length);
      let async = false;
      for (let i = 0; i < records.length; i++) {
        const r = core.run(records[i], now);
        if (r instanceof Promise) async = true;
        out[i] = r;
      }
      return async ? Promise.all(out) : (out as PipelineResult[]);
    },
    processMaybeSync(record, nowMs) {
      return core.run(record, nowMs);
    },
    async explain(record, o) {
      return core.explain(record, nowOf(o));
    },
  };
}

/**
 * The naive reference: ajv + json-rules-engine + the JSONata interpreter per record, same verdict rules.
 * Slow on purpose; used by the differential test and as the benchmark's baseline, and handy for checking
 * a surprising result against the libraries' own semantics.
 */
export function createReferencePipeline(ruleset: Ruleset, options: Pick<PipelineOptions, 'targets' | 'clock' | 'mappingTimeoutMs' | 'mappingMaxDepth'> = {}) {
  const resolved = resolveOptions(ruleset, options);
  const ref = buildReferencePipeline(ruleset, {
    targets: resolved.targets,
    limits: { timeoutMs: resolved.mappingTimeoutMs, maxDepth: resolved.mappingMaxDepth, clock: () => performance.now() },
  });
  return {
    version: ref.version,
    process: (record: unknown, o?: ProcessOptions) => ref.run(record, resolveNow(o?.now, resolved.clock)),
  };
}

function resolveOptions(ruleset: Ruleset, options: PipelineOptions) {
  for (const k of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(k)) throw new OptionsError(`unknown pipeline option "${k}" (known: ${[...KNOWN_OPTIONS].join(', ')})`, { option: k });
  }
  const all = Object.keys(ruleset.mappings).sort((a, b) => (a === ruleset.defaultTarget ? -1 : b === ruleset.defaultTarget ? 1 : a.localeCompare(b)));
  const targets = options.targets ?? all;
  for (const t of targets) {
    if (!ruleset.mappings[t]) {
      throw new BilhetagemError(ErrorCodes.UNKNOWN_TARGET, `target "${t}" has no mappings (targets with mappings: ${all.join(', ')})`, { details: { target: t } });
    }
  }
  const num = (name: 'mappingTimeoutMs' | 'mappingMaxDepth') => {
    const v = options[name] ?? PIPELINE_DEFAULTS[name];
    if (typeof v !== 'number' || !(v > 0)) throw new OptionsError(`pipeline option "${name}" must be a positive number`, { option: name });
    return v;
  };
  if (options.clock !== undefined && typeof options.clock !== 'function') throw new OptionsError('pipeline option "clock" must be a function returning epoch ms', { option: 'clock' });
  return {
    targets,
    clock: options.clock ?? Date.now,
    mappingTimeoutMs: num('mappingTimeoutMs'),
    mappingMaxDepth: num('mappingMaxDepth'),
    compile: options.compile ?? PIPELINE_DEFAULTS.compile,
  };
}

function resolveNow(now: ProcessOptions['now'], clock: () => number): number {
  if (now === undefined) return clock();
  const ms = now instanceof Date ? now.getTime() : typeof now === 'number' ? now : parseTime(now);
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new BilhetagemError(ErrorCodes.INVALID_NOW, `"now" must be a Date, epoch milliseconds or an RFC 3339 time; got ${JSON.stringify(now)}`, { details: { now: String(now) } });
  }
  return ms;
}
