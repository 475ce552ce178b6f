/**
 * Rulesets in the panel: the files of the running and stored versions, candidates checked (lint, parse,
 * compile) before anything runs them, the pipeline a stored record was judged by (to explain it again),
 * and activation through the server's ruleset holder. Nothing here touches rules/ or mappings/ on disk.
 */
import { parseRuleset } from '../core/ruleset/parse-ruleset.ts';
import type { Ruleset, RulesetFile } from '../core/ruleset/types.ts';
import { BilhetagemError } from '../errors.ts';
import { lintFiles } from '../lint/lint.ts';
import type { LintReport } from '../lint/lint.ts';
import { createPipeline } from '../pipeline.ts';
import type { Pipeline } from '../pipeline.ts';
import { AdminError, AdminErrorCodes as E, badInput, notFound, unsupported } from './errors.ts';
import type { ResolvedAdminOptions } from './options.ts';

export interface Candidate {
  ruleset: Ruleset;
  pipeline: Pipeline;
  lint: LintReport;
}

export interface StoredFiles {
  version: string;
  files: Record<string, string>;
  activatedBy: string | null;
  at: Date | null;
}

/** Most files one candidate may have, and the longest path. */
const MAX_FILES = 2000;

export function filesFrom(input: unknown): RulesetFile[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw badInput('files must be an object of path → content', { field: 'files' });
  const entries = Object.entries(input as Record<string, unknown>);
  if (entries.length === 0 || entries.length > MAX_FILES) throw badInput(`a ruleset has 1 to ${MAX_FILES} files`, { field: 'files' });
  return entries.map(([path, content]) => {
    if (!/^(rules|mappings)\/[^\0]{1,500}$/.test(path) || path.split('/').includes('..')) throw badInput(`a file path starts with rules/ or mappings/ and has no "..": ${JSON.stringify(path)}`, { field: 'files', path });
    if (typeof content !== 'string') throw badInput(`the content of ${path} must be a string`, { field: 'files', path });
    return { path, content };
  });
}

export function describeError(error: unknown): { code: string; message: string; [k: string]: unknown } {
  if (error instanceof BilhetagemError) return { code: error.code, message: error.message, ...error.details };
  return { code: 'BLH_ERR_INTERNAL', message: (error as Error)?.message ?? String(error) };
}

export interface RulesetService {
  /** The files of the running ruleset (empty when it was given as an object, not read from files). */
  activeFiles(): StoredFiles | undefined;
  /** A version's files: the running one's, or the store's. */
  versionFiles(version: string): Promise<StoredFiles | undefined>;
  /** Lints, parses and compiles; throws BLH_ERR_ADMIN_RULESET (with the findings) when it would not run. */
  candidate(files: RulesetFile[]): Candidate;
  /** Lint findings and whether it would run, without throwing. */
  check(files: RulesetFile[]): { ok: boolean; version: string | null; lint: LintReport; error: ReturnType<typeof describeError> | null };
  /** The pipeline of a version: the running one, or compiled from the store's files (a few are kept). */
  pipelineFor(version: string): Promise<Pipeline>;
  /** Puts a candidate in service through the holder; answers what was running before. */
  activate(candidate: Candidate, trigger: string): Promise<{ changed: boolean; version: string; previous: string | undefined }>;
}

export function createRulesetService(o: ResolvedAdminOptions): RulesetService {
  const compiled = new Map<string, Pipeline>();

  function current() {
    return o.rulesets.current;
  }

  function compile(ruleset: Ruleset): Pipeline {
    return createPipeline(ruleset, { ...o.pipeline, clock: o.clock });
  }

  const service: RulesetService = {
    activeFiles() {
      const active = current();
      if (!active) return undefined;
      return { version: active.version, files: Object.fromEntries(active.pipeline.ruleset.files.map((f) => [f.path, f.content])), activatedBy: null, at: active.loadedAt };
    },

    async versionFiles(version) {
      const active = current();
      if (active?.version === version) {
        const stored = await o.store.getRulesetVersion(version);
        return { ...service.activeFiles()!, activatedBy: stored?.activatedBy ?? null, at: stored?.at ?? active.loadedAt };
      }
      const stored = await o.store.getRulesetVersion(version);
      return stored ? { version: stored.version, files: stored.files, activatedBy: stored.activatedBy, at: stored.at } : undefined;
    },

    candidate(files) {
      const lint = lintFiles(files);
      if (lint.errors > 0) {
        throw new AdminError(E.RULESET, 422, `the ruleset has ${lint.errors} error${lint.errors === 1 ? '' : 's'}; nothing changed`, { details: { lint } });
      }
      try {
        const ruleset = parseRuleset(files);
        return { ruleset, pipeline: compile(ruleset), lint };
      } catch (error) {
        const cause = describeError(error);
        throw new AdminError(E.RULESET, 422, `the ruleset does not load: ${cause.message}; nothing changed`, { cause: error, details: { error: cause, lint } });
      }
    },

    check(files) {
      const lint = lintFiles(files);
      try {
        const ruleset = parseRuleset(files);
        compile(ruleset);
        return { ok: lint.errors === 0, version: ruleset.version, lint, error: null };
      } catch (error) {
        return { ok: false, version: lint.rulesetVersion ?? null, lint, error: describeError(error) };
      }
    },

    async pipelineFor(version) {
      const active = current();
      if (active?.version === version) return active.pipeline;
      const hit = compiled.get(version);
      if (hit) return hit;
      const stored = await o.store.getRulesetVersion(version);
      if (!stored || Object.keys(stored.files).length === 0) throw notFound(`the files of ruleset ${version} are not in the store, so it cannot run again`, { version });
      const pipeline = service.candidate(filesFrom(stored.files)).pipeline;
      compiled.set(version, pipeline);
      while (compiled.size > 4) compiled.delete(compiled.keys().next().value as string);
      return pipeline;
    },

    async activate(candidate, trigger) {
      const swap = o.rulesets.swap;
      if (typeof swap !== 'function') throw unsupported('this server cannot swap its ruleset from the panel (its ruleset holder has no swap method); change the files and reload instead');
      try {
        return await swap.call(o.rulesets, candidate.ruleset, trigger);
      } catch (error) {
        if (error instanceof AdminError) throw error;
        const cause = describeError(error);
        throw new AdminError(E.RULESET, 422, `the server refused the ruleset: ${cause.message}; nothing changed`, { cause: error, details: { error: cause } });
      }
    },
  };
  return service;
}
