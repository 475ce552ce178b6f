/**
 * The schema, as numbered steps. `PRAGMA user_version` holds the last step applied; on open the missing
 * steps run in one IMMEDIATE transaction (so two processes opening the same file do not both migrate),
 * and a file from a newer version of bilhetagem is refused before anything touches it.
 *
 * Times are INTEGER epoch milliseconds, values JSON text, tables STRICT. A step is never edited once
 * released; a change is a new step.
 */
import { SchemaTooNewError, StoreMigrationError } from '../../ports/errors.js';
import type { SqliteDatabase } from './driver.js';

export interface Migration {
  version: number;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE records (
  seq INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  subject TEXT,
  payload TEXT NOT NULL,
  payload_hash TEXT NOT NULL,
  verdict TEXT NOT NULL CHECK (verdict IN ('accepted', 'skipped')),
  code TEXT,
  message TEXT,
  ruleset_version TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  UNIQUE (source, id)
) STRICT;

-- source and record_id are copied from the record so a claim returns everything in one UPDATE ... RETURNING.
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  record_seq INTEGER NOT NULL REFERENCES records (seq),
  source TEXT NOT NULL,
  record_id TEXT NOT NULL,
  target TEXT NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead', 'discarded')),
  attempts INTEGER NOT NULL DEFAULT 0,
  replays INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  lease_token TEXT,
  lease_worker TEXT,
  lease_expires_at INTEGER,
  last_error TEXT,
  delivered_at INTEGER,
  receipt_status INTEGER,
  receipt_target_id TEXT,
  UNIQUE (record_seq, target)
) STRICT;
-- Partial: delivered rows pile up forever, the claim query only ever looks at pending ones.
CREATE INDEX outbox_claim ON outbox (target, next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE status = 'delivered';

CREATE TABLE attempts (
  id INTEGER PRIMARY KEY,
  outbox_id INTEGER NOT NULL REFERENCES outbox (id),
  at INTEGER NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead')),
  status_code INTEGER,
  target_id TEXT,
  latency_ms REAL,
  error TEXT,
  answer TEXT,
  worker TEXT
) STRICT;
CREATE INDEX attempts_outbox ON attempts (outbox_id, id);

CREATE TABLE dead_letters (
  id INTEGER PRIMARY KEY,
  outbox_id INTEGER NOT NULL REFERENCES outbox (id),
  target TEXT NOT NULL,
  source TEXT NOT NULL,
  record_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  code TEXT,
  status_code INTEGER,
  answer TEXT,
  at INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'dead' CHECK (status IN ('dead', 'retried', 'discarded')),
  resolved_at INTEGER,
  resolved_by TEXT
) STRICT;
-- The dead-letter page lists by status, newest first, optionally by target or code.
CREATE INDEX dead_letters_status ON dead_letters (status, id);
CREATE INDEX dead_letters_target ON dead_letters (status, target, id);
CREATE INDEX dead_letters_code ON dead_letters (status, code, id);

CREATE TABLE rejections (
  seq INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  record_id TEXT NOT NULL,
  type TEXT,
  errors TEXT NOT NULL,
  ruleset_version TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  payload TEXT
) STRICT;
CREATE INDEX rejections_record ON rejections (source, record_id);

CREATE TABLE api_keys (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  prefix TEXT NOT NULL UNIQUE,
  hash TEXT NOT NULL,
  sources TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
) STRICT;

CREATE TABLE accounts (
  username TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  before TEXT,
  after TEXT,
  at INTEGER NOT NULL
) STRICT;

CREATE TABLE rulesets (
  id INTEGER PRIMARY KEY,
  version TEXT NOT NULL,
  files TEXT NOT NULL,
  activated_by TEXT NOT NULL,
  at INTEGER NOT NULL
) STRICT;
CREATE INDEX rulesets_version ON rulesets (version, id);
`,
  },
  {
    // Retention (src/ops/prune.ts): old records and rejections are found by when they were received, and
    // deleting an outbox row must not scan dead_letters for rows that point at it.
    version: 2,
    sql: `
CREATE INDEX records_received ON records (received_at, seq);
CREATE INDEX rejections_received ON rejections (received_at, seq);
CREATE INDEX dead_letters_outbox ON dead_letters (outbox_id);
`,
  },
  {
    // A confirmed delivery is written on its outbox row instead of as a row of attempts: one UPDATE per
    // delivered row instead of an INSERT and an UPDATE (and no page of attempts or its index to write).
    // receipt_inline = 1 says the row holds its last attempt; readers list it with the attempts (columns.ts),
    // and a replay moves it into attempts before the row is sent again (dead-letters.ts).
    version: 3,
    sql: `
ALTER TABLE outbox ADD COLUMN receipt_latency_ms REAL;
ALTER TABLE outbox ADD COLUMN receipt_answer TEXT;
ALTER TABLE outbox ADD COLUMN receipt_worker TEXT;
ALTER TABLE outbox ADD COLUMN receipt_inline INTEGER NOT NULL DEFAULT 0 CHECK (receipt_inline IN (0, 1));
`,
  },
  {
    // One store at a time delivers a target (claim.ts): the holder of its row here keeps the leases of the
    // rows it hands out in memory, so a claim writes nothing and a delivery writes its outbox row once.
    // in_flight is how many rows it holds, as of its last write, for the stats of other processes. Leases
    // written on the rows (by a release before this step, or a queue relay's hand-over claims) still hold.
    version: 4,
    sql: `
CREATE TABLE target_locks (
  target TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  in_flight INTEGER NOT NULL DEFAULT 0
) STRICT;
`,
  },
  {
    // When a row's current run of tries began (its first counted failure since it was queued, replayed or
    // retried from a dead letter): a worker that restarts counts the target's max age from it, not from the
    // row's creation. NULL until a try failed.
    version: 5,
    sql: `
ALTER TABLE outbox ADD COLUMN first_try_at INTEGER;
`,
  },
  {
    // What stats() counted by scanning whole tables, kept as counts by the writes that change them, in the same
    // transaction (counts.ts): records by verdict, logged rejections, and outbox rows by target and status for
    // every status but pending (read through the claim index). Filled here from one scan of the file.
    version: 6,
    sql: `
CREATE TABLE stat_counts (
  kind TEXT NOT NULL,
  a TEXT NOT NULL,
  b TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (kind, a, b)
) STRICT, WITHOUT ROWID;
INSERT INTO stat_counts SELECT 'records', verdict, '', count(*) FROM records GROUP BY verdict;
INSERT INTO stat_counts SELECT 'rejections', '', '', count(*) FROM rejections HAVING count(*) > 0;
INSERT INTO stat_counts SELECT 'outbox', target, status, count(*) FROM outbox WHERE status <> 'pending' GROUP BY target, status;
`,
  },
];

export const SCHEMA_VERSION = migrations[migrations.length - 1].version;

export function schemaVersion(db: SqliteDatabase): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Before anything else touches the file (even switching it to WAL). */
export function refuseNewerSchema(db: SqliteDatabase, file: string, known = SCHEMA_VERSION): void {
  const found = schemaVersion(db);
  if (found > known) throw new SchemaTooNewError(found, known, file);
}

export function migrate(db: SqliteDatabase, file: string, steps: readonly Migration[] = migrations): void {
  const latest = steps[steps.length - 1].version;
  if (schemaVersion(db) >= latest) return;
  db.transaction(() => {
    // Read again under the write lock: another process may have migrated meanwhile.
    const current = schemaVersion(db);
    refuseNewerSchema(db, file, latest);
    for (const step of steps) {
      if (step.version <= current) continue;
      try {
        db.exec(step.sql);
        db.pragma(`user_version = ${step.version}`);
      } catch (error) {
        throw new StoreMigrationError(step.version, file, error);
      }
    }
  }).immediate();
}
