/**
 * Nothing lost: the server is killed with SIGKILL, again and again, in the middle of a load of single
 * records and batches. Every record that was answered "accepted" must be in the database after the
 * restart, with all of its outbox rows; nothing may be half-written (a record without its rows, rows
 * without their record); and the file must pass SQLite's integrity check.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { Pool } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import { demoKey, liveVoice, startServe } from './process.ts';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROUNDS = 5;
const TARGETS = 4; // default, lago, openmeter, stripe in the shipped mappings

describe('SIGKILL under load', () => {
  it('keeps every record answered accepted, and nothing half-written', { timeout: 180_000 }, async () => {
    const db = join(dir, 'crash.db');
    const accepted = new Set<string>();
    let sent = 0;
    let next = 0;
    let key = '';

    for (let round = 0; round < ROUNDS; round++) {
      const server = await startServe(['--db', db, '--rate-limit', '0', '--log-level', 'warn', '--no-watch']);
      if (round === 0) key = demoKey(server.stderr());
      const pool = new Pool(server.origin, { connections: 16, pipelining: 1 });
      let stop = false;
      const worker = async (w: number) => {
        while (!stop) {
          const batch = (w + next) % 3 === 0;
          const ids = Array.from({ length: batch ? 10 : 1 }, () => `r${round}-${++next}`);
          const body = batch ? ids.map((id) => liveVoice(id)) : liveVoice(ids[0]);
          sent += ids.length;
          try {
            const res = await pool.request({ path: '/v1/records', method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body) });
            const answer = (await res.body.json()) as { status?: string; results?: { id: string; status: string }[] };
            if (batch && res.statusCode === 202) for (const r of answer.results!) if (r.status === 'accepted') accepted.add(r.id);
            if (!batch && res.statusCode === 202 && answer.status === 'accepted') accepted.add(ids[0]);
          } catch {
            // The server died mid-request: the outcome is unknown, so the record may or may not be there.
          }
        }
      };
      const workers = Array.from({ length: 16 }, (_, w) => worker(w));
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 700)));
      server.child.kill('SIGKILL');
      const exit = await server.exited;
      expect(exit.signal).toBe('SIGKILL');
      stop = true;
      await Promise.all(workers);
      await pool.destroy();
    }

    expect(accepted.size).toBeGreaterThan(100);
    expect(sent).toBeGreaterThan(accepted.size);

    // The restart: the store opens the file the killed process left behind.
    const store = createSqliteStore({ filename: db });
    try {
      const missing: string[] = [];
      for (const id of accepted) {
        const record = await store.getRecord('voice-platform', id);
        if (!record || record.verdict !== 'accepted' || Object.keys(record.targets).length !== TARGETS) missing.push(id);
      }
      expect(missing).toEqual([]);
    } finally {
      await store.close();
    }

    const raw = new Database(db, { readonly: true });
    try {
      expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
      const halfRecords = raw.prepare(`SELECT count(*) AS n FROM records r WHERE r.verdict = 'accepted' AND (SELECT count(*) FROM outbox o WHERE o.record_seq = r.seq) <> ?`).get(TARGETS) as { n: number };
      expect(halfRecords.n).toBe(0);
      const orphans = raw.prepare('SELECT count(*) AS n FROM outbox o WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.seq = o.record_seq)').get() as { n: number };
      expect(orphans.n).toBe(0);
      const stored = raw.prepare('SELECT count(*) AS n FROM records').get() as { n: number };
      expect(stored.n).toBeGreaterThanOrEqual(accepted.size);
    } finally {
      raw.close();
    }
  });
});
