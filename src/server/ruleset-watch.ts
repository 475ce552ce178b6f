/**
 * Reloads the ruleset when its files change. fs.watch (recursive) says "something changed"; a quiet
 * period (debounce) lets an editor or `git checkout` finish writing before the reload reads the files.
 * Where recursive watching is not available, it polls instead: a reload of unchanged files is cheap
 * (the version hash matches and nothing is compiled).
 */
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import type { FastifyBaseLogger } from 'fastify';

export interface RulesetWatcher {
  stop(): void;
}

export function watchRuleset(folders: string[], debounceMs: number, reload: () => Promise<unknown>, logger: FastifyBaseLogger): RulesetWatcher {
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  let stopped = false;

  const changed = () => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      // A failed reload is logged and kept by the holder; the watcher just waits for the next change.
      reload().catch(() => undefined);
    }, debounceMs);
    timer.unref();
  };

  for (const folder of folders) {
    try {
      const w = watch(folder, { recursive: true, persistent: false }, changed);
      w.on('error', (error) => {
        logger.warn({ event: 'ruleset:watch-error', folder, error: error.message }, `watching ${folder} failed; polling instead`);
        startPolling();
      });
      watchers.push(w);
    } catch (error) {
      logger.warn({ event: 'ruleset:watch-error', folder, error: (error as Error).message }, `cannot watch ${folder}; polling instead`);
      startPolling();
    }
  }

  function startPolling(): void {
    if (poll || stopped) return;
    poll = setInterval(changed, Math.max(1000, debounceMs * 4));
    poll.unref();
  }

  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      for (const w of watchers) w.close();
    },
  };
}
