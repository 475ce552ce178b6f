/**
 * The commands that read or change the store — keys, users, dlq, replay, prune — on a PostgreSQL store named
 * by `--store` (or BILHETAGEM_STORE), as `serve --store` and `worker --store` use it: a deployment on PostgreSQL
 * manages its keys, accounts and dead letters from the CLI the way one on SQLite does. Live PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/adapters/postgres/index.ts';
import type { PostgresStore } from '../../src/adapters/postgres/index.ts';
import * as archive from '../../src/cli/commands/archive.ts';
import * as dlq from '../../src/cli/commands/dlq.ts';
import * as keys from '../../src/cli/commands/keys.ts';
import * as prune from '../../src/cli/commands/prune.ts';
import * as recount from '../../src/cli/commands/recount.ts';
import * as replay from '../../src/cli/commands/replay.ts';
import * as users from '../../src/cli/commands/users.ts';
import { runCommand } from '../ops/cli-helpers.ts';
import { records, tempDir } from '../ops/support.ts';
import { POSTGRES_URL, requireService } from '../support/services.ts';

const postgres = await requireService('postgres');
const pg = postgres.available ? (await import('pg')).default : undefined;
const admin = pg && new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
const tmp = tempDir();
const schemas: string[] = [];
const freshSchema = () => {
  const schema = `cli_${randomBytes(5).toString('hex')}`;
  schemas.push(schema);
  return schema;
};
/** The --store URL of `schema`, `?schema=` appended to the server's URL. */
const storeUrl = (schema: string) => `${POSTGRES_URL}${POSTGRES_URL.includes('?') ? '&' : '?'}schema=${schema}`;
const schemaExists = async (schema: string) => (await admin!.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount === 1;

afterAll(async () => {
  for (const schema of schemas) await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin?.end();
  tmp.cleanup();
});

describe.skipIf(!postgres.available)('the store commands with --store postgres://', () => {
  const cwd = tmp.file('ws');
  let schema: string;
  let store: string;
  let direct: PostgresStore;
  const old = new Date('2020-01-01T10:00:00Z');

  beforeAll(async () => {
    mkdirSync(join(cwd, 'data'), { recursive: true });
    schema = freshSchema();
    store = storeUrl(schema);
    // 10 records from 2020 for target "billing": 6 delivered then, 1 dead-lettered, 3 pending.
    direct = await createPostgresStore({ connectionString: POSTGRES_URL, schema });
    await direct.ingest(records(10, { receivedAt: old }));
    const claimed = await direct.claim({ target: 'billing', limit: 7, leaseMs: 1000, worker: 'w', now: old });
    for (const row of claimed.slice(0, 6)) await direct.ack(row, { at: old, statusCode: 201 });
    await direct.deadLetter(claimed[6]!, { at: old, statusCode: 400, reason: 'HTTP 400: unknown customer', code: 'HTTP_400' });
  });
  afterAll(async () => {
    await direct?.close();
  });

  it('keys create / list / revoke act on the schema ?schema= names, never on the SQLite file', async () => {
    const created = await runCommand(keys, ['keys', 'create', '--source', 'sms-gateway', '--name', 'sms', '--store', store, '--format', 'json'], { cwd });
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const { key, prefix } = JSON.parse(created.stdout) as { key: string; prefix: string };
    expect(await direct.findApiKeyByPrefix(prefix)).toMatchObject({ name: 'sms', sources: ['sms-gateway'], revokedAt: null });
    expect(existsSync(join(cwd, 'data/bilhetagem.db'))).toBe(false);
    // The environment variable serves as well as the flag.
    const list = await runCommand(keys, ['keys', 'list'], { cwd, env: { BILHETAGEM_STORE: store } });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(prefix);
    expect(list.stdout).not.toContain(key.split('.')[1]);
    expect((await runCommand(keys, ['keys', 'revoke', prefix, '--store', store], { cwd })).stdout).toContain(`revoked: ${prefix}`);
    expect((await direct.listApiKeys()).find((k) => k.prefix === prefix)!.revokedAt).toBeInstanceOf(Date);
    expect((await direct.listAudit()).items.map((a) => a.action)).toEqual(expect.arrayContaining(['key.create', 'key.revoke']));
  });

  it('users add and list accounts in PostgreSQL', async () => {
    const added = await runCommand(users, ['users', 'add', 'ana', '--role', 'operator', '--store', store], { cwd });
    expect(added.code).toBe(0);
    expect(await direct.getAccount('ana')).toMatchObject({ username: 'ana', role: 'operator' });
    const list = await runCommand(users, ['users', 'list', '--store', store, '--format', 'json'], { cwd });
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ username: 'ana', role: 'operator' })]);
  });

  it('dlq list and retry the dead letters held in PostgreSQL', async () => {
    const list = await runCommand(dlq, ['dlq', 'list', '--store', store, '--format', 'json'], { cwd });
    expect(list.code).toBe(0);
    const [dead] = (JSON.parse(list.stdout) as { items: { id: string; code: string }[] }).items;
    expect(dead).toMatchObject({ code: 'HTTP_400' });
    const retried = await runCommand(dlq, ['dlq', 'retry', dead!.id, '--store', store], { cwd });
    expect(retried.code).toBe(0);
    expect((await direct.listDeadLetters({ status: 'retried' })).items.map((d) => d.id)).toEqual([dead!.id]);
  });

  it('replay queues the deliveries of a time range again', async () => {
    const r = await runCommand(replay, ['replay', '--from', '2019-12-31T00:00:00Z', '--to', '2020-01-02T00:00:00Z', '--store', store, '--format', 'json'], { cwd });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ requeued: 6 });
    const again = await direct.claim({ target: 'billing', limit: 100, leaseMs: 1000, worker: 'w2', now: new Date() });
    // The 6 replayed, the 3 never sent and the dead letter retried above.
    expect(again.filter((row) => row.replays === 1)).toHaveLength(6);
    expect(again).toHaveLength(10);
    for (const row of again) await direct.ack(row, { at: old, statusCode: 201 });
  });

  it('prune archives and removes old delivered records from PostgreSQL; --vacuum is refused for it', async () => {
    const vacuum = await runCommand(prune, ['prune', '--older-than', '90d', '--vacuum', '--store', store], { cwd });
    expect(vacuum.code).toBe(2);
    expect(vacuum.stderr).toContain('--vacuum shrinks a SQLite file');
    const p = await runCommand(prune, ['prune', '--older-than', '90d', '--store', store], { cwd });
    expect(p.code).toBe(0);
    expect(p.stdout).toContain('removed 10 records and 0 rejections from 1 day');
    // --db still places the default archive folder, as for serve --retention.
    expect(readdirSync(join(cwd, 'data/archive')).sort()).toEqual(['2020-01-01.ndjson.gz', 'manifest.json']);
    // archive verify finds it where prune put it, from the same options.
    const verified = await runCommand(archive, ['archive', 'verify', '--store', store], { cwd });
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain(`${join(cwd, 'data/archive')}: 1 file(s), 10 records`);
    expect(await direct.getRecord('urn:test:voice', 'rec-0')).toBeUndefined();
  });

  it('recount counts again from a scan what stats() reads, after rows were changed by hand', async () => {
    // By hand, as a DBA in psql would: a rejection logged outside bilhetagem.
    await admin!.query(`INSERT INTO "${schema}".rejections (source, record_id, type, errors, ruleset_version, received_at, payload) VALUES ('x', 'r9', 't', '[]', 'v1', 0, '{}')`);
    const before = (await direct.stats({ now: new Date() })).records.rejected;
    const r = await runCommand(recount, ['recount', '--store', store, '--format', 'json'], { cwd });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toEqual({ changed: [{ kind: 'rejections', a: '', b: '', before, after: before + 1 }] });
    expect((await direct.stats({ now: new Date() })).records.rejected).toBe(before + 1);
    expect((await runCommand(recount, ['recount', '--store', store], { cwd })).stdout).toBe('every count was right; nothing changed\n');
  });

  it('refuses a schema that holds no store, without creating it; keys create makes a new one', async () => {
    const missing = freshSchema();
    const list = await runCommand(keys, ['keys', 'list', '--store', storeUrl(missing)], { cwd });
    expect(list.code).toBe(2);
    expect(list.stderr).toContain('[BLH_ERR_STORE_OPEN]');
    expect(list.stderr).toContain('no bilhetagem tables in that schema');
    expect(list.stderr).toContain(`schema "${missing}"`);
    expect(await schemaExists(missing)).toBe(false);
    for (const [module, argv] of [
      [dlq, ['dlq', 'list']],
      [replay, ['replay', '--from', '2020-01-01T00:00:00Z', '--to', '2020-01-02T00:00:00Z']],
      [users, ['users', 'list']],
      [prune, ['prune', '--older-than', '90d']],
      [recount, ['recount']],
    ] as const) {
      expect((await runCommand(module, [...argv, '--store', storeUrl(missing)], { cwd })).stderr).toContain('[BLH_ERR_STORE_OPEN]');
    }
    expect(await schemaExists(missing)).toBe(false);
    const created = await runCommand(keys, ['keys', 'create', '--all-sources', '--store', storeUrl(missing)], { cwd });
    expect(created.code).toBe(0);
    expect(await schemaExists(missing)).toBe(true);
  });
});
