/**
 * Opening the store from the CLI: one place for what --db and --store mean, shared by serve, worker and the
 * commands that read or change the database (keys, users, dlq, replay, prune, recount).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createSqliteStore } from '../adapters/sqlite/index.ts';
import type { SqliteStore, SqliteSynchronous } from '../adapters/sqlite/index.ts';
import { createPostgresStore } from '../adapters/postgres/index.ts';
import { loadDriver } from '../adapters/postgres/driver.ts';
import { schemaVersion } from '../adapters/postgres/migrations.ts';
import { DEFAULT_SCHEMA } from '../adapters/postgres/options.ts';
import type { PostgresStore } from '../adapters/postgres/index.ts';
import { OptionsError } from '../errors.ts';
import { StoreOpenError } from '../ports/errors.ts';
import type { CliContext } from './context.ts';

/** Where the records live, from --store (a postgres:// URL or a SQLite file) or else --db. */
export type StoreSpec = { kind: 'sqlite'; filename: string } | { kind: 'postgres'; connectionString: string; schema: string | undefined };

export function storeSpec(ctx: Pick<CliContext, 'cwd'>, o: { db: string; store?: string | undefined }): StoreSpec {
  const store = o.store?.trim();
  if (!store) return { kind: 'sqlite', filename: resolve(ctx.cwd, o.db) };
  if (/^postgres(ql)?:\/\//.test(store)) {
    // `?schema=` is ours, not libpq's: take it out before pg sees the URL.
    const url = new URL(store);
    const schema = url.searchParams.get('schema') ?? undefined;
    url.searchParams.delete('schema');
    return { kind: 'postgres', connectionString: url.toString(), schema };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(store)) throw new OptionsError(`--store must be a postgres:// URL or a SQLite file, got ${JSON.stringify(store.split('://')[0] + '://...')}`, { option: 'store' });
  return { kind: 'sqlite', filename: resolve(ctx.cwd, store) };
}

/**
 * The file beside which a store's default folders go (retention's archive/): the SQLite file, or for a
 * PostgreSQL store the --db path all the same.
 */
export function storeHome(ctx: Pick<CliContext, 'cwd'>, spec: StoreSpec, o: { db: string }): string {
  return spec.kind === 'sqlite' ? spec.filename : resolve(ctx.cwd, o.db);
}

/** Opens the store the spec names; pg is loaded only here, on first use. */
export async function openStore(spec: StoreSpec, synchronous: string): Promise<SqliteStore | PostgresStore> {
  if (spec.kind === 'sqlite') return createSqliteStore({ filename: spec.filename, synchronous: synchronous as SqliteSynchronous });
  return createPostgresStore({ connectionString: spec.connectionString, ...(spec.schema ? { schema: spec.schema } : {}) });
}

/** For logs: the SQLite file, or the PostgreSQL URL without its password, and the schema. */
export function describeStore(spec: StoreSpec): string {
  if (spec.kind === 'sqlite') return spec.filename;
  const url = new URL(spec.connectionString);
  url.password = '';
  url.search = '';
  return `${url.toString()} (schema "${spec.schema ?? DEFAULT_SCHEMA}")`;
}

/**
 * Runs `work` with the store that --store (a postgres:// URL or a SQLite file) or else --db names, and closes
 * it after. A missing SQLite file, or a PostgreSQL schema that holds no bilhetagem tables, is an error (there
 * is nothing to look at, and a typo would otherwise create an empty store) unless `create` is set, for
 * commands that may be the first to touch the store.
 */
export async function withStore<T>(
  ctx: Pick<CliContext, 'cwd'>,
  o: { db: string; store?: string | undefined },
  create: boolean,
  work: (store: SqliteStore | PostgresStore) => Promise<T>,
): Promise<T> {
  const spec = storeSpec(ctx, o);
  if (spec.kind === 'sqlite' && !existsSync(spec.filename)) {
    if (!create) throw new StoreOpenError(spec.filename, new Error('no such file (start the server once, or pass --db or --store)'));
    mkdirSync(dirname(spec.filename), { recursive: true });
  }
  if (spec.kind === 'postgres' && !create && !(await postgresSchemaExists(spec))) {
    throw new StoreOpenError(describeStore(spec), new Error('no bilhetagem tables in that schema (start the server on it once, or check ?schema=)'));
  }
  const store = await openStore(spec, 'FULL');
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** Whether the schema holds bilhetagem's tables; true when that cannot be told (opening the store then says why). */
async function postgresSchemaExists(spec: Extract<StoreSpec, { kind: 'postgres' }>): Promise<boolean> {
  const pg = await loadDriver();
  const client = new pg.Client({ connectionString: spec.connectionString });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await schemaVersion(client, spec.schema ?? DEFAULT_SCHEMA)) > 0;
  } catch {
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}
