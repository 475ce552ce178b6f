/**
 * The configuration check behind `bilhetagem config check` and the first thing `serve` does: every part
 * of the configuration is checked — the ruleset compiles, every target is valid and its secrets are set,
 * the store can be opened (and at which schema version), the queue answers, retention makes sense — and
 * the report says what would run. Nothing is started, created, migrated or written: a SQLite file is
 * opened read-only, PostgreSQL is asked for its schema version, RabbitMQ gets a connection that is closed.
 *
 * Every problem names its field (`targets.lago.apiKey`, `db`, `retention.olderThan`) so the message
 * points at the line to fix. `assertConfigOk(report)` turns errors into one BLH_ERR_CONFIG_INVALID.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import type * as Amqp from 'amqplib';
import { dirname, resolve } from 'node:path';
import { SCHEMA_VERSION as SQLITE_SCHEMA_VERSION } from '../adapters/sqlite/migrations.ts';
import { loadDriver as loadPg } from '../adapters/postgres/driver.ts';
import { SCHEMA_VERSION as POSTGRES_SCHEMA_VERSION, schemaVersion } from '../adapters/postgres/migrations.ts';
import { BilhetagemError } from '../errors.ts';
import { resolveTargets } from '../forwarder/config.ts';
import { loadRuleset } from '../loaders/load-ruleset.ts';
import { createPipeline } from '../pipeline.ts';
import { StoreErrorCodes } from '../ports/errors.ts';
import { redactParsedUrl } from '../queue/amqp/options.ts';
import { parseAge } from './age.ts';
import { OpsError, OpsErrorCodes } from './errors.ts';
import { countTables, missingTables, openSqlite, schemaVersionOf } from './sqlite-file.ts';

export type StoreConfig =
  | { kind: 'sqlite'; filename: string; synchronous?: string }
  | { kind: 'postgres'; connectionString: string; schema?: string };

export interface ConfigUnderCheck {
  /** Where the configuration came from, for the report; null when there is no file. */
  configFile?: string | null;
  rules: string;
  mappings: string;
  store: StoreConfig;
  /** The `targets` section as written (with `${VAR}` references unexpanded). */
  targets?: unknown;
  /** A RabbitMQ URL, when records are handed to a queue. */
  queue?: { url: string } | null;
  retention?: { olderThan: string; archiveDir: string; intervalMs?: number } | null;
  server?: { host: string; port: number } | null;
  /** Field names used in messages, for options that have another name where they are set. Default: `db` and `store`. */
  fields?: { sqlite?: string; postgres?: string; queue?: string };
}

export interface CheckOptions {
  /** Where `${VAR}` in targets comes from (the library never reads process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** How long to wait for PostgreSQL or RabbitMQ to answer, ms. Default 5000. */
  timeoutMs?: number;
}

export interface ConfigProblem {
  field: string;
  message: string;
  code?: string;
}

export interface StorePlan {
  kind: 'sqlite' | 'postgres';
  where: string;
  /** create: a new database; migrate: from `schemaVersion` to `targetVersion`; open: current. */
  action: 'create' | 'migrate' | 'open';
  schemaVersion: number | null;
  targetVersion: number;
  /** Pending outbox rows per target, when the store could be read. */
  pending: Record<string, number> | null;
}

export interface ConfigReport {
  ok: boolean;
  configFile: string | null;
  errors: ConfigProblem[];
  warnings: ConfigProblem[];
  ruleset: { name: string; version: string; types: string[]; mappings: string[] } | null;
  targets: { name: string; preset: string; mapping: string; url: string | null }[];
  store: StorePlan | null;
  queue: { url: string } | null;
  retention: { olderThan: string; archiveDir: string; intervalMs: number } | null;
  server: { host: string; port: number } | null;
}

export async function checkConfig(config: ConfigUnderCheck, options: CheckOptions = {}): Promise<ConfigReport> {
  const env = options.env ?? {};
  const timeoutMs = options.timeoutMs ?? 5000;
  const report: ConfigReport = {
    ok: false,
    configFile: config.configFile ?? null,
    errors: [],
    warnings: [],
    ruleset: null,
    targets: [],
    store: null,
    queue: null,
    retention: null,
    server: config.server ?? null,
  };
  const error = (field: string, message: string, code?: string) => report.errors.push({ field, message, ...(code ? { code } : {}) });
  const warn = (field: string, message: string) => report.warnings.push({ field, message });

  const mappingFolders = await checkRuleset(config, report, error);
  checkTargets(config.targets, env, mappingFolders, report, error, warn);
  await checkStore(config, timeoutMs, report, error, warn);
  if (config.queue) await checkQueue(config.queue.url, config.fields?.queue ?? 'queue', timeoutMs, report, error);
  if (config.retention) checkRetention(config.retention, report, error);
  else warn('retention', 'off: delivered records, attempts and rejections are kept forever and the store keeps growing');

  const configured = new Set(report.targets.map((t) => t.name));
  for (const [target, n] of Object.entries(report.store?.pending ?? {})) {
    if (!configured.has(target) && n > 0) warn(`targets.${target}`, `${n} outbox row(s) wait for target "${target}", which is not configured: they would not be sent`);
  }
  report.ok = report.errors.length === 0;
  return report;
}

/** Throws BLH_ERR_CONFIG_INVALID listing every error, each with its field; does nothing when the report is ok. */
export function assertConfigOk(report: ConfigReport): void {
  if (report.errors.length === 0) return;
  const list = report.errors.map((e) => `${e.field}: ${e.message}${e.code ? ` (${e.code})` : ""}`).join("; ");
  throw new OpsError(OpsErrorCodes.CONFIG_INVALID, `The configuration has ${report.errors.length} error(s): ${list}`, {
    details: { problems: report.errors, ...(report.configFile ? { file: report.configFile } : {}) },
  });
}

type Report = (field: string, message: string, code?: string) => void;

async function checkRuleset(config: ConfigUnderCheck, report: ConfigReport, error: Report): Promise<string[] | undefined> {
  try {
    const ruleset = await loadRuleset({ rules: config.rules, mappings: config.mappings });
    createPipeline(ruleset); // compiles schemas, rules and every mapping, as the server will
    const mappings = Object.keys(ruleset.mappings).sort();
    report.ruleset = { name: ruleset.name, version: ruleset.version, types: Object.keys(ruleset.types).sort(), mappings };
    return mappings;
  } catch (e) {
    const file = e instanceof BilhetagemError ? e.details.file : undefined;
    const field = typeof file === 'string' && (file.startsWith('mappings') || resolve(file).startsWith(resolve(config.mappings))) ? 'mappings' : 'rules';
    error(field, (e as Error).message, (e as BilhetagemError).code);
    return undefined;
  }
}

function checkTargets(targets: unknown, env: Readonly<Record<string, string | undefined>>, mappings: string[] | undefined, report: ConfigReport, error: Report, warn: Report): void {
  if (targets === undefined || targets === null) {
    warn('targets', 'none configured: records are judged and stored but not forwarded to any billing system');
    return;
  }
  if (typeof targets !== 'object' || Array.isArray(targets)) {
    error('targets', 'must be an object of named targets');
    return;
  }
  for (const [name, raw] of Object.entries(targets as Record<string, unknown>)) {
    // Every unset secret is reported, not just the first; the rest is checked with placeholders for them.
    const missing = missingVariables(raw, env, `targets.${name}`);
    for (const m of missing) error(m.path, `environment variable ${m.variable} is not set`, 'BLH_ERR_ENV_MISSING');
    const withPlaceholders = { ...env, ...Object.fromEntries(missing.map((m) => [m.variable, 'placeholder'])) };
    try {
      const resolved = resolveTargets({ [name]: raw }, { env: withPlaceholders, mappings })[name];
      const url = (raw as { url?: unknown }).url;
      report.targets.push({ name, preset: resolved.preset, mapping: resolved.mapping, url: typeof url === 'string' ? redactUrl(url) : null });
    } catch (e) {
      const d = e instanceof BilhetagemError ? e.details : {};
      const field = typeof d.option === 'string' ? `targets.${name}.${d.option}` : typeof d.path === 'string' ? d.path : `targets.${name}`;
      error(field, (e as Error).message, (e as BilhetagemError).code);
    }
  }
}

/** `${NAME}` references (without a `:-default`) to variables that are unset, with where they are used. */
export function missingVariables(value: unknown, env: Readonly<Record<string, string | undefined>>, path: string): { variable: string; path: string }[] {
  if (typeof value === 'string') {
    const out: { variable: string; path: string }[] = [];
    for (const m of value.matchAll(/\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g)) {
      if (!m[1] && m[3] === undefined && env[m[2]] === undefined) out.push({ variable: m[2], path });
    }
    return out;
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => missingVariables(v, env, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => missingVariables(v, env, `${path}.${k}`));
  return [];
}

async function checkStore(config: ConfigUnderCheck, timeoutMs: number, report: ConfigReport, error: Report, warn: Report): Promise<void> {
  const store = config.store;
  if (store.kind === 'sqlite') {
    const field = config.fields?.sqlite ?? 'db';
    if (store.synchronous === 'NORMAL' || store.synchronous === 'OFF') {
      warn('synchronous', `${store.synchronous}: a power loss can lose records already answered 202; use FULL (the default) unless that is acceptable`);
    }
    report.store = checkSqlite(store.filename, field, error, warn);
  } else {
    report.store = await checkPostgres(store.connectionString, store.schema ?? 'bilhetagem', config.fields?.postgres ?? 'store', timeoutMs, error);
  }
}

function checkSqlite(filename: string, field: string, error: Report, warn: Report): StorePlan | null {
  const plan: StorePlan = { kind: 'sqlite', where: filename, action: 'create', schemaVersion: null, targetVersion: SQLITE_SCHEMA_VERSION, pending: null };
  if (filename === ':memory:') {
    warn(field, ':memory: keeps nothing across a restart');
    return plan;
  }
  const file = resolve(filename);
  plan.where = file;
  if (!existsSync(file)) {
    const dir = nearestExisting(dirname(file));
    if (!statSync(dir).isDirectory() || !writable(dir)) {
      error(field, `${file} does not exist and cannot be created: ${dir} is ${statSync(dir).isDirectory() ? 'not writable' : 'not a folder'}`);
      return null;
    }
    return plan;
  }
  if (!statSync(file).isFile()) {
    error(field, `${file} is not a file`);
    return null;
  }
  let db;
  try {
    db = openSqlite(file, { readonly: true, timeoutMs: 1000 });
    const version = schemaVersionOf(db);
    plan.schemaVersion = version;
    if (version > SQLITE_SCHEMA_VERSION) {
      error(field, `${file} has schema version ${version}, but this version of bilhetagem knows only up to ${SQLITE_SCHEMA_VERSION}; upgrade bilhetagem or restore a backup made by this version`, StoreErrorCodes.SCHEMA_TOO_NEW);
      return null;
    }
    const counts = countTables(db);
    if (version === 0) {
      if (Object.keys(counts).length > 0) error(field, `${file} holds store tables but no schema version: it was not made by bilhetagem`);
      return plan;
    }
    const missing = missingTables(counts);
    if (missing.length > 0) {
      error(field, `${file} is not a bilhetagem store: no table ${missing.join(', ')}`);
      return null;
    }
    plan.action = version < SQLITE_SCHEMA_VERSION ? 'migrate' : 'open';
    const rows = db.prepare("SELECT target, count(*) AS n FROM outbox WHERE status = 'pending' GROUP BY target").all() as { target: string; n: number }[];
    plan.pending = Object.fromEntries(rows.map((r) => [r.target, r.n]));
  } catch (e) {
    error(field, `${file} cannot be opened as a SQLite database: ${(e as Error).message}`, StoreErrorCodes.STORE_OPEN);
    return null;
  } finally {
    db?.close();
  }
  if (!writable(file) || !writable(dirname(file))) {
    error(field, `${file} (or its folder, which holds its -wal and -shm files) is not writable`);
    return null;
  }
  return plan;
}

async function checkPostgres(connectionString: string, schema: string, field: string, timeoutMs: number, error: Report): Promise<StorePlan | null> {
  const where = `${redactUrl(connectionString)} (schema "${schema}")`;
  let pg;
  try {
    pg = await loadPg();
  } catch (e) {
    error(field, (e as Error).message, (e as BilhetagemError).code);
    return null;
  }
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs, application_name: 'bilhetagem config check' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const version = await schemaVersion(client, schema);
    if (version > POSTGRES_SCHEMA_VERSION) {
      error(field, `${where} has schema version ${version}, but this version of bilhetagem knows only up to ${POSTGRES_SCHEMA_VERSION}; upgrade bilhetagem`, StoreErrorCodes.SCHEMA_TOO_NEW);
      return null;
    }
    const { rows } = await client.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
    if (rows[0].standby) {
      error(field, `${where} is a read-only standby; point the store at the primary`);
      return null;
    }
    let pending: Record<string, number> | null = null;
    if (version > 0) {
      const counts = await client.query<{ target: string; n: number }>(`SELECT target, count(*)::int AS n FROM "${schema}".outbox WHERE status = 'pending' GROUP BY target`);
      pending = Object.fromEntries(counts.rows.map((r) => [r.target, r.n]));
    }
    return { kind: 'postgres', where, action: version === 0 ? 'create' : version < POSTGRES_SCHEMA_VERSION ? 'migrate' : 'open', schemaVersion: version, targetVersion: POSTGRES_SCHEMA_VERSION, pending };
  } catch (e) {
    error(field, `${where} cannot be reached: ${(e as Error).message}`, StoreErrorCodes.STORE_OPEN);
    return null;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkQueue(url: string, field: string, timeoutMs: number, report: ConfigReport, error: Report): Promise<void> {
  const shown = redactUrl(url);
  if (!/^amqps?:\/\//.test(url)) {
    error(field, `${shown} is not an AMQP URL (amqp://user:password@host:5672/vhost)`);
    return;
  }
  let amqp: typeof Amqp;
  try {
    amqp = await import('amqplib');
  } catch {
    error(field, 'The package "amqplib" is needed for a RabbitMQ queue; install it with: npm install amqplib', StoreErrorCodes.DRIVER_MISSING);
    return;
  }
  try {
    const connection = await amqp.connect(url, { timeout: timeoutMs });
    await connection.close();
    report.queue = { url: shown };
  } catch (e) {
    error(field, `${shown} cannot be reached: ${(e as Error).message}`);
  }
}

function checkRetention(retention: { olderThan: string; archiveDir: string; intervalMs?: number }, report: ConfigReport, error: Report): void {
  let ok = true;
  try {
    parseAge(retention.olderThan, 'retention.olderThan');
  } catch (e) {
    error('retention.olderThan', (e as Error).message);
    ok = false;
  }
  const dir = resolve(retention.archiveDir);
  const existing = nearestExisting(dir);
  if (!statSync(existing).isDirectory() || !writable(existing)) {
    error('retention.archiveDir', `${dir} cannot be written: ${existing} is ${statSync(existing).isDirectory() ? 'not writable' : 'not a folder'}`);
    ok = false;
  }
  const intervalMs = retention.intervalMs ?? 3_600_000;
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) {
    error('retention.intervalMs', 'must be a positive number of milliseconds');
    ok = false;
  }
  if (ok) report.retention = { olderThan: retention.olderThan, archiveDir: dir, intervalMs };
}

function nearestExisting(dir: string): string {
  let d = resolve(dir);
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  return d;
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** A URL without its password and query (which may hold secrets), for reports and logs. */
export function redactUrl(url: string): string {
  return redactParsedUrl(url) ?? url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/** The report as lines of text: what would run, then every warning and error with its field. */
export function describeConfigReport(report: ConfigReport): string[] {
  const lines: string[] = [];
  lines.push(`configuration: ${report.configFile ?? 'flags, environment and defaults (no config file)'}`);
  if (report.ruleset) {
    const r = report.ruleset;
    lines.push(`ruleset:    ${r.name} ${r.version.slice(0, 19)}… — types ${r.types.join(', ')}; mappings ${r.mappings.join(', ')}`);
  }
  if (report.store) {
    const s = report.store;
    const what = s.action === 'create' ? 'would be created' : s.action === 'migrate' ? `would be migrated from schema ${s.schemaVersion} to ${s.targetVersion}` : `schema ${s.schemaVersion}, current`;
    lines.push(`store:      ${s.kind} ${s.where} (${what})`);
    const pending = Object.entries(s.pending ?? {});
    if (pending.length > 0) lines.push(`            pending: ${pending.map(([t, n]) => `${t} ${n}`).join(', ')}`);
  }
  for (const t of report.targets) lines.push(`target:     ${t.name} — ${t.preset}${t.url ? ` ${t.url}` : ''}, sends mappings/${t.mapping}`);
  lines.push(`queue:      ${report.queue ? `RabbitMQ ${report.queue.url}` : 'none (the outbox in the store)'}`);
  if (report.retention) {
    const r = report.retention;
    lines.push(`retention:  archive to ${r.archiveDir} and prune delivered records older than ${r.olderThan}, every ${Math.round(r.intervalMs / 60_000)} min`);
  }
  if (report.server) lines.push(`server:     http://${report.server.host}:${report.server.port}`);
  for (const w of report.warnings) lines.push(`warning:    ${w.field}: ${w.message}`);
  for (const e of report.errors) lines.push(`error:      ${e.field}: ${e.message}${e.code ? ` [${e.code}]` : ''}`);
  lines.push(report.ok ? 'ok: nothing was started' : `${report.errors.length} error(s): serve would refuse to start`);
  return lines;
}
