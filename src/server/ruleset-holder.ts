/**
 * The running ruleset and its reloads. A reload reads and compiles the new ruleset completely before it
 * touches anything; if that fails, the running one stays and the error is kept for /readyz and
 * /admin/ruleset. If it succeeds, the swap is one assignment: a request takes `current` once when it
 * starts, so every record of a request is judged by one version, and that version is stored with it.
 */
import type { FastifyBaseLogger } from 'fastify';
import { readRulesetFiles } from '../loaders/load-ruleset.ts';
import { parseRuleset, rulesetVersion } from '../core/ruleset/parse-ruleset.ts';
import { createPipeline } from '../pipeline.ts';
import type { Pipeline, PipelineOptions } from '../pipeline.ts';
import type { Ruleset, RulesetFile } from '../core/ruleset/types.ts';
import type { Store } from '../ports/store.ts';
import { BilhetagemError } from '../errors.ts';

export interface ActiveRuleset {
  pipeline: Pipeline;
  version: string;
  name: string;
  loadedAt: Date;
}

export interface ReloadFailure {
  at: Date;
  trigger: string;
  error: { code: string; message: string; [detail: string]: unknown };
}

export interface ReloadOutcome {
  changed: boolean;
  version: string;
  previous: string | undefined;
}

export interface RulesetHolder {
  readonly current: ActiveRuleset | undefined;
  /** The last failed reload, cleared by the next successful one. */
  readonly lastFailure: ReloadFailure | undefined;
  readonly reloads: { ok: number; failed: number };
  /** Loads (or reloads) the ruleset; rejects with the ruleset's error when it is bad, keeping the old one. */
  reload(trigger: string): Promise<ReloadOutcome>;
  /**
   * Swaps in a ruleset that did not come from the watched folders (an activation or rollback from the admin
   * panel): compiled first, so a bad one never replaces the running one. A later reload from disk (a file
   * change, SIGHUP) replaces it again.
   */
  swap(ruleset: Ruleset, trigger: string): Promise<ReloadOutcome>;
}

export interface RulesetHolderOptions {
  rules: string;
  mappings: string;
  ruleset: Ruleset | undefined;
  pipeline: Omit<PipelineOptions, 'clock'>;
  clock: () => number;
  store: Store;
  logger: FastifyBaseLogger;
}

export function createRulesetHolder(o: RulesetHolderOptions): RulesetHolder {
  let current: ActiveRuleset | undefined;
  let lastFailure: ReloadFailure | undefined;
  const reloads = { ok: 0, failed: 0 };
  // Reloads run one after another: two quick triggers never compile side by side or swap out of order.
  let queue: Promise<unknown> = Promise.resolve();

  async function load(): Promise<{ ruleset: Ruleset; files: RulesetFile[] | undefined }> {
    if (o.ruleset) return { ruleset: o.ruleset, files: undefined };
    const files = await readRulesetFiles({ rules: o.rules, mappings: o.mappings });
    // The version is a hash of the files: unchanged files need no parsing or compiling.
    if (current && rulesetVersion(files) === current.version) return { ruleset: current.pipeline.ruleset, files: undefined };
    return { ruleset: parseRuleset(files), files };
  }

  async function run(trigger: string): Promise<ReloadOutcome> {
    const previous = current?.version;
    try {
      const { ruleset, files } = await load();
      if (current && ruleset.version === current.version) {
        lastFailure = undefined;
        return { changed: false, version: current.version, previous };
      }
      const pipeline = createPipeline(ruleset, { ...o.pipeline, clock: o.clock });
      await remember(pipeline.version, files, trigger);
      current = { pipeline, version: pipeline.version, name: ruleset.name, loadedAt: new Date(o.clock()) };
      lastFailure = undefined;
      reloads.ok += 1;
      o.logger.info({ event: 'ruleset:loaded', version: pipeline.version, previous, trigger }, `ruleset ${pipeline.version} loaded${previous ? ` (was ${previous})` : ''}`);
      return { changed: true, version: pipeline.version, previous };
    } catch (error) {
      reloads.failed += 1;
      lastFailure = { at: new Date(o.clock()), trigger, error: describe(error) };
      o.logger.error(
        { event: 'ruleset:rejected', trigger, error: lastFailure.error, running: previous ?? null },
        `the ruleset could not be loaded${previous ? `; ${previous} keeps running` : ''}: ${lastFailure.error.message}`,
      );
      throw error;
    }
  }

  /** Every activation is kept with its files, so any stored record can be traced to its exact rules. */
  async function remember(version: string, files: RulesetFile[] | undefined, trigger: string): Promise<void> {
    try {
      const [latest] = await o.store.listRulesetVersions();
      if (latest?.version === version) return;
      await o.store.saveRulesetVersion({
        version,
        files: Object.fromEntries((files ?? []).map((f) => [f.path, f.content])),
        activatedBy: trigger,
        at: new Date(o.clock()),
      });
    } catch (error) {
      // The records still carry the version; only the history of files misses this activation.
      o.logger.warn({ event: 'ruleset:unsaved', version, error: describe(error) }, `ruleset ${version} could not be saved to the store`);
    }
  }

  return {
    get current() {
      return current;
    },
    get lastFailure() {
      return lastFailure;
    },
    reloads,
    reload(trigger) {
      const next = queue.then(() => run(trigger));
      queue = next.catch(() => undefined);
      return next;
    },
    swap(ruleset, trigger) {
      const next = queue.then(async () => {
        const previous = current?.version;
        if (current && ruleset.version === current.version) return { changed: false, version: current.version, previous };
        const pipeline = createPipeline(ruleset, { ...o.pipeline, clock: o.clock });
        await remember(pipeline.version, ruleset.files, trigger);
        current = { pipeline, version: pipeline.version, name: ruleset.name, loadedAt: new Date(o.clock()) };
        reloads.ok += 1;
        o.logger.info({ event: 'ruleset:loaded', version: pipeline.version, previous, trigger }, `ruleset ${pipeline.version} swapped in${previous ? ` (was ${previous})` : ''}`);
        return { changed: true, version: pipeline.version, previous };
      });
      queue = next.catch(() => undefined);
      return next;
    },
  };
}

export function describe(error: unknown): ReloadFailure['error'] {
  if (error instanceof BilhetagemError) return { code: error.code, message: error.message, ...error.details };
  return { code: 'BLH_ERR_INTERNAL', message: (error as Error)?.message ?? String(error) };
}
