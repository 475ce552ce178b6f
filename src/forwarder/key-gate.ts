/**
 * One request in flight per key (Stripe: customer and meter), for a target runner.
 *
 * Within the runner a set of busy keys is enough. When the runner's store shares a target's rows between
 * processes (PostgreSQL), the store's key locks (OutboxStore.keyLocks) extend that to every process: a row is
 * sent only while this runner holds its key's lock. Keys are asked for in one call per dispatch, after the
 * rows that need them were passed over (they wait in the ready queue, in order, and other keys go ahead); a key
 * another process holds is asked for again after a short wait. A held key is let go once no request of this
 * runner is out for it and no ready row needs it, or after a turn of KEY_TURN_MS when rows of it keep coming,
 * so another process's rows of that key wait about a turn, not as long as this runner has rows of it.
 */
import { waitAtMost } from '../core/wait.ts';
import type { KeyLockSet } from '../ports/store.ts';

/** How long a key another process holds is left alone before it is asked for again, ms. */
export const KEY_RETRY_MS = 25;

/** After failed lock calls (the store unreachable) the wait doubles up to this, ms. */
export const KEY_RETRY_MAX_MS = 2000;

/** How long a held key no row needs any more is kept before it is let go, ms: a run of one customer's rows keeps it. */
export const KEY_LINGER_MS = 10;

/**
 * How long a runner keeps a key while its rows keep coming, ms: then it lets go after the request out for it, and
 * asks again only after KEY_RETRY_MS twice over, so another process whose rows wait for the key gets a turn.
 */
export const KEY_TURN_MS = 1000;

/** How long a stopping runner waits for its keys to be let go, ms. */
export const KEY_CLOSE_WAIT_MS = 2000;

/** Refused keys remembered before the ones whose wait is over are forgotten. */
const REFUSED_KEPT = 10_000;

export interface KeyGateHooks {
  clock(): number;
  /** Keys were taken: dispatch again. */
  wake(): void;
  /** Keys were refused: dispatch again in `ms`. */
  wakeIn(ms: number): void;
  /** `count` keys were held elsewhere when asked for (a metric). */
  refused(count: number): void;
  /** The keys of the rows waiting to be sent. */
  readyKeys(): Iterable<string | undefined>;
  /** A lock call failed (the store is unreachable): reported, and retried after a wait that doubles up to KEY_RETRY_MAX_MS. */
  failed(stage: 'lock' | 'unlock', error: unknown): void;
}

export class KeyGate {
  private readonly busy = new Set<string>();
  /** Keys rows are waiting for, to ask the store for at the next dispatch. */
  private readonly wanted = new Set<string>();
  /** Keys another holder had when last asked, and when to ask again. */
  private readonly refused = new Map<string, number>();
  /** The keys this gate took, and when: those with no request out are let go unless a ready row needs them. */
  private readonly heldSince = new Map<string, number>();
  private asking = false;
  /** The soonest a key rows were passed over for may be asked for again (Infinity: none). */
  private retryAt = Infinity;
  /** Lock calls that failed in a row. */
  private failures = 0;
  private lingering: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly locks: KeyLockSet | undefined,
    private readonly hooks: KeyGateHooks,
  ) {}

  /** May a row with `key` be sent now? When only the lock is missing, it is asked for at the next `ask()`. */
  free(key: string): boolean {
    if (this.busy.has(key)) return false;
    const locks = this.locks;
    if (locks === undefined || locks.holds(key)) return true;
    const until = this.refused.get(key);
    if (until === undefined || until <= this.hooks.clock()) this.wanted.add(key);
    else if (until < this.retryAt) this.retryAt = until;
    return false;
  }

  /** A request for `key` is out. */
  take(key: string): void {
    this.busy.add(key);
  }

  /** The request for `key` was answered. */
  done(key: string): void {
    this.busy.delete(key);
    const locks = this.locks;
    if (locks === undefined || this.closed) return;
    const now = this.hooks.clock();
    const since = this.heldSince.get(key);
    if (since !== undefined && now - since >= KEY_TURN_MS && locks.holds(key)) {
      // Its turn is over: another process may be waiting for it.
      this.heldSince.delete(key);
      this.refused.set(key, now + 2 * KEY_RETRY_MS);
      locks.unlock([key]).catch((error: unknown) => this.hooks.failed('unlock', error));
      return;
    }
    this.linger();
  }

  /** Looks at the held keys with no request out in KEY_LINGER_MS (one timer for all). */
  private linger(): void {
    this.lingering ??= setTimeout(() => this.letGoIdle(), KEY_LINGER_MS);
  }

  /** After a dispatch: asks the store for the keys rows waited for (one call at a time). */
  ask(): void {
    const locks = this.locks;
    if (locks === undefined || this.closed) return;
    if (this.retryAt !== Infinity) {
      // Rows wait for keys refused a moment ago: the runner looks again when the soonest may be asked for.
      this.hooks.wakeIn(this.retryAt - this.hooks.clock());
      this.retryAt = Infinity;
    }
    // A held key with no request out whose rows went (their lease ran short) is let go too.
    if (this.heldSince.size > this.busy.size) this.linger();
    if (this.asking || this.wanted.size === 0) return;
    if (this.refused.size > REFUSED_KEPT) {
      // Keys of many customers were refused once and not asked for since: forget those whose wait is over.
      const now = this.hooks.clock();
      for (const [key, until] of this.refused) if (until <= now) this.refused.delete(key);
    }
    const keys = [...this.wanted];
    this.wanted.clear();
    this.asking = true;
    locks.lock(keys).then(
      (took) => {
        this.asking = false;
        this.failures = 0;
        const now = this.hooks.clock();
        const taken = new Set(took);
        let refused = 0;
        for (const key of keys) {
          if (taken.has(key)) {
            this.refused.delete(key);
            this.heldSince.set(key, now);
          } else {
            this.refused.set(key, now + KEY_RETRY_MS);
            refused += 1;
          }
        }
        // A key taken while nothing needs it any more (its rows lapsed meanwhile) is let go like an answered one.
        if (took.length > 0) this.linger();
        if (refused > 0) {
          this.hooks.refused(refused);
          this.hooks.wakeIn(KEY_RETRY_MS);
        }
        if (took.length > 0 || this.wanted.size > 0) this.hooks.wake();
      },
      (error: unknown) => {
        this.asking = false;
        this.failures += 1;
        const wait = Math.min(KEY_RETRY_MAX_MS, KEY_RETRY_MS * 2 ** this.failures);
        const until = this.hooks.clock() + wait;
        for (const key of keys) this.refused.set(key, until);
        this.hooks.failed('lock', error);
        this.hooks.wakeIn(wait);
      },
    );
  }

  /** Lets go of every key (the runner stopped, nothing is in flight). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.lingering !== undefined) clearTimeout(this.lingering);
    this.lingering = undefined;
    this.wanted.clear();
    this.heldSince.clear();
    const locks = this.locks;
    if (locks === undefined) return;
    // A stop while the database is unreachable does not wait for it: the keys go with the locks' connection
    // when the store closes or the process ends. A failure to let go is reported.
    await waitAtMost(
      locks.close().catch((error: unknown) => this.hooks.failed('unlock', error)),
      KEY_CLOSE_WAIT_MS,
    );
  }

  private letGoIdle(): void {
    this.lingering = undefined;
    const locks = this.locks;
    if (locks === undefined || this.closed || this.heldSince.size <= this.busy.size) return;
    const needed = new Set(this.hooks.readyKeys());
    const go: string[] = [];
    for (const key of this.heldSince.keys()) {
      if (this.busy.has(key)) continue;
      // Lost with the store's connection: nothing to let go of.
      if (!locks.holds(key)) this.heldSince.delete(key);
      else if (!needed.has(key)) go.push(key);
    }
    for (const key of go) this.heldSince.delete(key);
    // Still needed: kept, and looked at again after the next dispatch or answer.
    if (go.length > 0) locks.unlock(go).catch((error: unknown) => this.hooks.failed('unlock', error));
  }
}
