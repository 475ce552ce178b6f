/**
 * The schema, as numbered steps, and the table `schema_version` that lists the steps applied. On
 * start the missing steps run in one transaction under an advisory lock taken on the schema's name, so
 * several processes starting at once migrate once and the others wait, then find nothing to do. A
 * database whose version is newer than this code knows is refused before anything touches it.
 *
 * Like the SQLite schema: times are bigint epoch milliseconds, JSON values text (exactly what
 * JSON.stringify made; `json` would refuse some strings JSON.stringify writes, and `jsonb` reorders
 * keys). A step is never edited once released; a change is a new step.
 */
import { SchemaTooNewError, StoreMigrationError } from '../../ports/errors.js';
import type { Pool, PoolClient } from './driver.js';
import { quote } from './sql.js';

export interface Migration {
  version: number;
  /** Runs with search_path set to the store's schema, so names are unqualified. */
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE records (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source text NOT NULL,
  id text NOT NULL,
  type text NOT NULL,
  subject text,
  payload text NOT NULL,
  payload_hash text NOT NULL,
  verdict text NOT NULL CHECK (verdict IN ('accepted', 'skipped')),
  code text,
  message text,
  ruleset_version text NOT NULL,
  received_at bigint NOT NULL,
  -- The identity: a duplicate is refused by this constraint, in the transaction that stores the record.
  CONSTRAINT records_identity UNIQUE (source, id)
);

-- source and record_id are copied from the record so a claim returns everything in one UPDATE ... RETURNING.
-- fillfactor leaves room on each page so claims and settling (which touch no indexed column) stay HOT updates.
CREATE TABLE outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  record_seq bigint NOT NULL REFERENCES records (seq),
  source text NOT NULL,
  record_id text NOT NULL,
  target text NOT NULL,
  body text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead', 'discarded')),
  attempts integer NOT NULL DEFAULT 0,
  replays integer NOT NULL DEFAULT 0,
  created_at bigint NOT NULL,
  next_attempt_at bigint NOT NULL,
  lease_token text,
  lease_worker text,
  lease_expires_at bigint,
  last_error text,
  delivered_at bigint,
  receipt_status integer,
  receipt_target_id text,
  UNIQUE (record_seq, target)
) WITH (fillfactor = 80);
-- Partial: delivered rows pile up forever, the claim query only ever looks at pending ones.
CREATE INDEX outbox_claim ON outbox (target, next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE status = 'delivered';

CREATE TABLE attempts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  outbox_id bigint NOT NULL REFERENCES outbox (id),
  at bigint NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead')),
  status_code integer,
  target_id text,
  latency_ms double precision,
  error text,
  answer text,
  worker text
);
CREATE INDEX attempts_outbox ON attempts (outbox_id, id);

CREATE TABLE dead_letters (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  outbox_id bigint NOT NULL REFERENCES outbox (id),
  target text NOT NULL,
  source text NOT NULL,
  record_id text NOT NULL,
  reason text NOT NULL,
  code text,
  status_code integer,
  answer text,
  at bigint NOT NULL,
  status text NOT NULL DEFAULT 'dead' CHECK (status IN ('dead', 'retried', 'discarded')),
  resolved_at bigint,
  resolved_by text
);
-- The dead-letter page lists by status, newest first, optionally by target or code.
CREATE INDEX dead_letters_status ON dead_letters (status, id);
CREATE INDEX dead_letters_target ON dead_letters (status, target, id);
CREATE INDEX dead_letters_code ON dead_letters (status, code, id);

CREATE TABLE rejections (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source text NOT NULL,
  record_id text NOT NULL,
  type text,
  errors text NOT NULL,
  ruleset_version text NOT NULL,
  received_at bigint NOT NULL,
  payload text
);
CREATE INDEX rejections_record ON rejections (source, record_id);

CREATE TABLE api_keys (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL,
  prefix text NOT NULL UNIQUE,
  hash text NOT NULL,
  sources text NOT NULL,
  created_at bigint NOT NULL,
  revoked_at bigint
);

CREATE TABLE accounts (
  username text PRIMARY KEY,
  password_hash text NOT NULL,
  role text NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);

CREATE TABLE audit (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  actor text NOT NULL,
  action text NOT NULL,
  target text,
  before text,
  after text,
  at bigint NOT NULL
);

CREATE TABLE rulesets (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  version text NOT NULL,
  files text NOT NULL,
  activated_by text NOT NULL,
  at bigint NOT NULL
);
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
    // When a row's current run of tries began (its first counted failure since it was queued, replayed or
    // retried from a dead letter): a worker that restarts counts the target's max age from it, not from the
    // row's creation. NULL until a try failed.
    version: 3,
    sql: `
ALTER TABLE outbox ADD COLUMN first_try_at bigint;
`,
  },
  {
    // A confirmed delivery is written on its outbox row instead of as a row of attempts (as in SQLite since
    // its step 3): one UPDATE per delivered row, no INSERT. receipt_inline says the row holds its last
    // attempt; readers list it with the attempts (store-rows.ts, withHeldDeliveries), and a replay moves it
    // into attempts before the row is sent again. Deliveries written before this step stay in attempts.
    // Constant defaults: no table rewrite.
    version: 4,
    sql: `
ALTER TABLE outbox ADD COLUMN receipt_latency_ms double precision;
ALTER TABLE outbox ADD COLUMN receipt_answer text;
ALTER TABLE outbox ADD COLUMN receipt_worker text;
ALTER TABLE outbox ADD COLUMN receipt_inline boolean NOT NULL DEFAULT false;
`,
  },
  {
    // What stats() counted by scanning whole tables, kept as counts by the writes that change them (stats.ts):
    // records by verdict, logged rejections, outbox rows by target and status but pending. A write adds its
    // change as a row of stat_deltas, in the statement that makes it (no row two transactions both update, so
    // no waiting); stats() reads stat_counts plus stat_deltas, and folds the deltas into the counts now and
    // then. Filled here from one scan.
    version: 5,
    sql: `
CREATE TABLE stat_counts (
  kind text NOT NULL,
  a text NOT NULL,
  b text NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (kind, a, b)
);
CREATE TABLE stat_deltas (
  kind text NOT NULL,
  a text NOT NULL,
  b text NOT NULL,
  n bigint NOT NULL
);
INSERT INTO stat_counts SELECT 'records', verdict, '', count(*) FROM records GROUP BY verdict;
INSERT INTO stat_counts SELECT 'rejections', '', '', count(*) FROM rejections HAVING count(*) > 0;
INSERT INTO stat_counts SELECT 'outbox', target, status, count(*) FROM outbox WHERE status <> 'pending' GROUP BY target, status;
`,
  },
];

export const SCHEMA_VERSION = migrations[migrations.length - 1].version;

/** Taken with the schema's hash as second key: stores in different schemas migrate independently. */
const MIGRATION_LOCK = 0x626c6801; // "blh" 1

/** The last step applied, or 0 when the schema (or its version table) does not exist yet. */
export async function schemaVersion(client: Pick<PoolClient, 'query'>, schema: string): Promise<number> {
  const table = `${quote(schema)}.schema_version`;
  const exists = await client.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [table]);
  if (!exists.rows[0].found) return 0;
  const result = await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${table}`);
  return result.rows[0].version ?? 0;
}

/**
 * Brings `schema` up to the last step. `target` names the database in errors. The version is read first
 * without a lock, so a database that is current (the usual case) or too new costs no lock at all.
 *
 * The lock is a session lock taken before BEGIN, not a transaction lock taken after it: a transaction
 * that began before another process committed the schema would keep reading its stale catalog (to_regclass
 * would still say "no such table") even after the lock lets it through.
 */
export async function migrate(pool: Pool, schema: string, target: string, steps: readonly Migration[] = migrations): Promise<void> {
  const latest = steps[steps.length - 1].version;
  const client = await pool.connect();
  const ignore = () => undefined; // a lost connection also fails the query in flight, which is what we report
  client.on('error', ignore);
  let broken: Error | undefined;
  try {
    const seen = await schemaVersion(client, schema);
    if (seen > latest) throw new SchemaTooNewError(seen, latest, target);
    if (seen === latest) return;
    // Neither waiting for another process's migration nor a long step may be cut by statementTimeoutMs.
    await client.query('SET statement_timeout = 0');
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [MIGRATION_LOCK, schema]);
    try {
      await migrateLocked(client, schema, target, steps);
    } finally {
      try {
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [MIGRATION_LOCK, schema]);
        await client.query('RESET statement_timeout');
      } catch (error) {
        broken = error as Error; // the lock stays with the connection: it must not go back to the pool
      }
    }
  } catch (error) {
    if (!(error instanceof SchemaTooNewError || error instanceof StoreMigrationError)) broken ??= error as Error;
    throw error;
  } finally {
    client.off('error', ignore);
    client.release(broken);
  }
}

async function migrateLocked(client: PoolClient, schema: string, target: string, steps: readonly Migration[]): Promise<void> {
  const latest = steps[steps.length - 1].version;
  await client.query('BEGIN');
  try {
    // Read again under the lock: another process may have migrated meanwhile.
    const current = await schemaVersion(client, schema);
    if (current > latest) throw new SchemaTooNewError(current, latest, target);
    if (current < latest) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quote(schema)}`);
      await client.query(`SET LOCAL search_path TO ${quote(schema)}`);
      await client.query('CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      for (const step of steps) {
        if (step.version <= current) continue;
        try {
          await client.query(step.sql);
          await client.query('INSERT INTO schema_version (version) VALUES ($1)', [step.version]);
        } catch (error) {
          throw new StoreMigrationError(step.version, target, error);
        }
      }
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
