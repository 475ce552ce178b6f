/**
 * Key locks (OutboxStore.keyLocks) on PostgreSQL: session advisory locks, so that forwarders in several
 * processes keep one request in flight per key (Stripe: customer and meter).
 *
 * - A lock's id is 64 bits of md5(schema, target, key) (keyLockId), in the one-bigint form of advisory locks,
 *   whose key space does not overlap the two-int form the migrations and the stats fold use. Two keys whose ids
 *   collide (one chance in 2^64 per pair) would only wait for each other.
 * - They are taken with pg_try_advisory_lock on a connection of their own, beside the pool (so a small pool is
 *   never starved by it), opened at the first lock() and kept until the store closes: a session lock belongs to
 *   its connection, so a process that dies (or loses the connection) lets go of all of its keys at once, with
 *   nothing to expire. Losing the connection clears what this store believes it holds; the next lock() opens
 *   another one.
 * - Sets of the same store never share a key: PostgreSQL would grant the same session a lock twice, so who
 *   holds what within the process is kept here, and a key is reserved before it is asked for.
 */
import { createHash } from 'node:crypto';
import { waitAtMost } from '../../core/wait.js';
import { StoreClosedError } from '../../ports/errors.js';
import type { KeyLockSet } from '../../ports/store.js';
import { storeError } from './driver.js';
import type { Client } from './driver.js';

/** Each answers the ids it locked (or let go of), as text. */
const LOCK = 'SELECT id::text FROM unnest($1::bigint[]) AS id WHERE pg_try_advisory_lock(id)';
const UNLOCK = 'SELECT id::text FROM unnest($1::bigint[]) AS id WHERE pg_advisory_unlock(id)';

/** The advisory lock id of a key: the first 64 bits of md5(schema, target, key), signed, as text. Keys may hold any character (Stripe's hold a NUL). */
export function keyLockId(schema: string, target: string, key: string): string {
  const digest = createHash('md5').update(`${schema}\u001f${target}\u001f${key}`).digest();
  return digest.readBigInt64BE(0).toString();
}

export interface PgKeyLocks {
  keyLocks(target: string): KeyLockSet;
  /** Closes the locks' connection (which lets go of every key); at store close. */
  close(): Promise<void>;
}

/** `connect` opens a connection (not from the pool) to the store's database. */
export function pgKeyLocks(connect: () => Promise<Client>, schema: string, open: () => void): PgKeyLocks {
  let client: Client | undefined;
  let connecting: Promise<Client> | undefined;
  /** `target \u001f key` → the set holding it, or reserving it while its lock() is out (then it does not hold it yet). */
  const owners = new Map<string, { set: object; held: boolean }>();
  let closed = false;

  function connection(): Promise<Client> {
    if (client !== undefined) return Promise.resolve(client);
    connecting ??= connect().then(
      (c) => {
        connecting = undefined;
        if (closed) {
          void c.end().catch(() => undefined);
          throw new StoreClosedError();
        }
        const lost = () => {
          if (client !== c) return;
          // The session is gone, and its locks with it.
          client = undefined;
          owners.clear();
          void c.end().catch(() => undefined);
        };
        c.on('error', lost);
        c.on('end', lost);
        client = c;
        return c;
      },
      (error: unknown) => {
        connecting = undefined;
        throw storeError(error, 'The database could not be reached for key locks');
      },
    );
    return connecting;
  }

  /** Runs LOCK or UNLOCK for `keys`; answers the keys whose id came back. */
  async function query(text: string, target: string, keys: string[]): Promise<string[]> {
    const c = await connection();
    const byId = new Map(keys.map((key) => [keyLockId(schema, target, key), key]));
    try {
      const { rows } = await c.query<{ id: string }>({ text, values: [[...byId.keys()]] });
      return rows.map((r) => byId.get(r.id)).filter((key) => key !== undefined);
    } catch (error) {
      throw storeError(error, 'A key lock call failed');
    }
  }

  function keyLocks(target: string): KeyLockSet {
    open();
    const me = {};
    const prefix = `${target}\u001f`;
    const id = (key: string) => prefix + key;
    const set: KeyLockSet = {
      holds: (key) => {
        const o = owners.get(id(key));
        return o !== undefined && o.set === me && o.held;
      },
      async lock(keys) {
        open();
        const wanted = [...new Set(keys)];
        const already = wanted.filter((key) => set.holds(key));
        const asked = wanted.filter((key) => !owners.has(id(key)));
        if (asked.length === 0) return already;
        const reservations = asked.map((key) => {
          const o = { set: me, held: false };
          owners.set(id(key), o);
          return o;
        });
        let took: Set<string>;
        try {
          took = new Set(await query(LOCK, target, asked));
        } catch (error) {
          asked.forEach((key, i) => owners.get(id(key)) === reservations[i] && owners.delete(id(key)));
          throw error;
        }
        const out = already;
        asked.forEach((key, i) => {
          // Still this reservation: the connection was not lost meanwhile (which cleared them all).
          if (owners.get(id(key)) !== reservations[i]) return;
          if (took.has(key)) {
            reservations[i]!.held = true;
            out.push(key);
          } else owners.delete(id(key));
        });
        return out;
      },
      async unlock(keys) {
        const go = [...new Set(keys)].filter((key) => set.holds(key));
        if (go.length === 0) return;
        for (const key of go) owners.delete(id(key));
        // A connection lost meanwhile took the locks with it: nothing left to let go of.
        if (client === undefined) return;
        await query(UNLOCK, target, go);
      },
      async close() {
        // A set's keys all carry its target's prefix; unlock() leaves out those it only reserved.
        await set.unlock([...owners].filter(([, o]) => o.set === me).map(([k]) => k.slice(prefix.length)));
      },
    };
    return set;
  }

  return {
    keyLocks,
    async close() {
      closed = true;
      await connecting?.catch(() => undefined);
      const c = client;
      client = undefined;
      owners.clear();
      // Its session locks go with it. A server that does not answer is not waited for long: the socket is closed all the same.
      if (c !== undefined) await waitAtMost(c.end(), 2000);
    },
  };
}
