/**
 * API key lookups, cached while nothing could have changed them. Every request with a key looks its
 * key up; the answer is kept only as long as no transaction has been committed to the file since it was
 * read: not by another connection — `PRAGMA data_version` changes then, whether the writer is this
 * store's writer thread, another store, another server or the CLI — and not by this connection (its
 * own commits do not change data_version, so they are counted here). A key revoked anywhere is thus
 * not found at the next lookup, as without the cache. Under load the cache is emptied at every commit
 * and filled again by the next request: one query per key and commit instead of one per request.
 *
 * The same key object comes back while it is cached, which lets the server skip checking a secret it
 * has already checked against it (src/server/authenticate.ts).
 */
import type { ApiKey } from '../../ports/admin-store.js';
import type { SqliteContext } from './context.js';

/** Enough for every key of a deployment; past it, keys are looked up uncached until the next commit. */
const MAX_KEYS = 1000;

export function cachedKeyLookup(ctx: SqliteContext, find: (prefix: string) => Promise<ApiKey | undefined>): (prefix: string) => Promise<ApiKey | undefined> {
  const dataVersion = ctx.db.prepare('PRAGMA data_version').pluck();
  const keys = new Map<string, ApiKey>();
  let seenVersion: unknown;
  let seenCommits = -1;

  return async (prefix) => {
    ctx.open();
    // Read before the lookup below: what is cached is then at least as new as what these say.
    const version = dataVersion.get();
    const commits = ctx.writer.transactions;
    if (version !== seenVersion || commits !== seenCommits) {
      keys.clear();
      seenVersion = version;
      seenCommits = commits;
    }
    const cached = keys.get(prefix);
    if (cached) return cached;
    const key = await find(prefix);
    // Only if nothing was committed by this connection meanwhile (find() itself never writes).
    if (key && keys.size < MAX_KEYS && ctx.writer.transactions === seenCommits) keys.set(prefix, key);
    return key;
  };
}
