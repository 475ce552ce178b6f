/**
 * API key lookups, cached while nothing could have changed them. The answer is kept only as long as no
 * transaction has been committed to the file since it was read: not by another connection — `PRAGMA
 * data_version` changes then, whether the writer is this store's writer thread, another store, another
 * server or the CLI — and not by this connection (its own commits do not change data_version, so they
 * are counted here). Under load the cache is emptied at every commit and filled again by the next
 * request: one query per key and commit instead of one per request.
 *
 * The check is made once per turn of the event loop for every lookup asked for since the last one, not
 * once per lookup: asking for data_version is a read transaction, whose two file-lock calls cost more
 * than the rest of a cached lookup. The check runs in the loop's check phase (setImmediate), after every
 * socket read in that turn's poll phase, so it is always made after the lookup was asked for, and so
 * after the request that asks arrived: a key revoked anywhere before a request arrives is not found for
 * that request, as without the cache. A lookup asked while requests are read waits only until the end of
 * that poll phase; one asked in the check phase itself waits for the next turn's.
 *
 * The same key object comes back while it is cached, which lets the server skip checking a secret it
 * has already checked against it (src/server/authenticate.ts).
 */
import type { ApiKey } from '../../ports/admin-store.js';
import type { SqliteContext } from './context.js';

/** Enough for every key of a deployment; past it, keys are looked up uncached until the next commit. */
const MAX_KEYS = 1000;

interface Waiting {
  prefix: string;
  resolve: (key: ApiKey | undefined) => void;
  reject: (error: unknown) => void;
}

export function cachedKeyLookup(ctx: SqliteContext, find: (prefix: string) => Promise<ApiKey | undefined>): (prefix: string) => Promise<ApiKey | undefined> {
  const dataVersion = ctx.db.prepare('PRAGMA data_version').pluck();
  const keys = new Map<string, ApiKey>();
  let seenVersion: unknown;
  let seenCommits = -1;
  let waiting: Waiting[] = [];

  /** One check for every lookup asked for before it; then each is answered from the cache or the store. */
  function check(): void {
    const batch = waiting;
    waiting = [];
    let version: unknown;
    try {
      ctx.open();
      version = dataVersion.get();
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    }
    // Read before the lookups below: what is cached is then at least as new as what these say.
    const commits = ctx.writer.transactions;
    if (version !== seenVersion || commits !== seenCommits) {
      keys.clear();
      seenVersion = version;
      seenCommits = commits;
    }
    // One query per key however many lookups of this turn ask for it (after a commit, all of them do).
    let finding: Map<string, Promise<ApiKey | undefined>> | undefined;
    for (const w of batch) {
      const cached = keys.get(w.prefix);
      if (cached) {
        w.resolve(cached);
        continue;
      }
      let found = finding?.get(w.prefix);
      if (!found) {
        found = find(w.prefix).then((key) => {
          // Only if nothing was committed by this connection meanwhile (find() itself never writes) and no
          // later check has moved on.
          if (key && keys.size < MAX_KEYS && ctx.writer.transactions === seenCommits && version === seenVersion) keys.set(w.prefix, key);
          return key;
        });
        (finding ??= new Map()).set(w.prefix, found);
      }
      found.then(w.resolve, w.reject);
    }
  }

  return (prefix) => {
    try {
      ctx.open();
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      if (waiting.length === 0) setImmediate(check);
      waiting.push({ prefix, resolve, reject });
    });
  };
}
