/** The operations commands, run in process as main.ts runs them: flags, output, exit codes. */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import { SCHEMA_VERSION } from '../../src/adapters/sqlite/migrations.ts';
import * as archive from '../../src/cli/commands/archive.ts';
import * as backup from '../../src/cli/commands/backup.ts';
import * as configCheck from '../../src/cli/commands/config-check.ts';
import * as prune from '../../src/cli/commands/prune.ts';
import * as restore from '../../src/cli/commands/restore.ts';
import { ROOT } from '../support/ruleset.ts';
import { runCommand } from './cli-helpers.ts';
import { records, tempDir } from './support.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let n = 0;

/** A working folder with data/bilhetagem.db holding 10 records from 2020, 6 of them delivered then. */
async function workspace(): Promise<string> {
  const dir = tmp.file(`ws-${++n}`);
  mkdirSync(join(dir, 'data'), { recursive: true });
  const store = createSqliteStore({ filename: join(dir, 'data/bilhetagem.db') });
  const old = new Date('2020-01-01T10:00:00Z');
  await store.ingest(records(10, { receivedAt: old }));
  const claimed = await store.claim({ target: 'billing', limit: 7, leaseMs: 1000, worker: 'w', now: old });
  // Six delivered (held on their outbox rows), one to try again (a row of attempts).
  for (const row of claimed.slice(0, 6)) await store.ack(row, { at: old, statusCode: 201 });
  await store.retryLater(claimed[6], { at: old, statusCode: 503, error: 'HTTP 503', nextAttemptAt: old });
  await store.close();
  return dir;
}

describe('backup and restore', () => {
  it('backs up to a folder, then restores over the database only with --force', async () => {
    const cwd = await workspace();
    mkdirSync(join(cwd, 'backups'));
    const b = await runCommand(backup, ['backup', '--to', 'backups'], { cwd });
    expect(b).toMatchObject({ code: 0, stderr: '' });
    expect(b.stdout).toContain('checked: integrity ok; records 10, outbox 10, attempts 1');
    const [file] = readdirSync(join(cwd, 'backups')).filter((f) => f.endsWith('.db'));
    expect(existsSync(join(cwd, 'backups', `${file}.json`))).toBe(true);

    const refused = await runCommand(restore, ['restore', '--from', `backups/${file}`], { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/A database exists at .*data\/bilhetagem\.db; .*--force.*\[BLH_ERR_RESTORE_REFUSED\]/);

    const r = await runCommand(restore, ['restore', '--from', `backups/${file}`, '--force', '--format', 'json'], { cwd });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ counts: { records: 10 }, replaced: expect.stringContaining('before-restore-') });
  });

  it('takes the database from BILHETAGEM_DB and the destination from BILHETAGEM_BACKUP_TO, and says what is missing', async () => {
    const cwd = await workspace();
    const b = await runCommand(backup, ['backup'], { cwd, env: { BILHETAGEM_DB: 'data/bilhetagem.db', BILHETAGEM_BACKUP_TO: 'copy.db' } });
    expect(b.code).toBe(0);
    expect(existsSync(join(cwd, 'copy.db'))).toBe(true);
    const missing = await runCommand(backup, ['backup'], { cwd });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--to <file|folder>' not specified");
  });
});

describe('prune and archive verify', () => {
  it('archives and prunes old delivered records, then verifies the archive', async () => {
    const cwd = await workspace();
    const dry = await runCommand(prune, ['prune', '--older-than', '90d', '--dry-run'], { cwd });
    expect(dry).toMatchObject({ code: 0 });
    expect(dry.stdout).toContain('would remove 6 records and 0 rejections from 1 day');
    expect(existsSync(join(cwd, 'data/archive'))).toBe(false);

    const p = await runCommand(prune, ['prune', '--vacuum'], { cwd, env: { BILHETAGEM_RETENTION: '90d' } });
    expect(p.code).toBe(0);
    expect(p.stdout).toContain('removed 6 records and 0 rejections from 1 day');
    expect(p.stdout).toContain('2020-01-01');
    expect(p.stdout).toMatch(/vacuum: [\d,]+ KiB → [\d,]+ KiB/);
    expect(readdirSync(join(cwd, 'data/archive')).sort()).toEqual(['2020-01-01.ndjson.gz', 'manifest.json']);

    const v = await runCommand(archive, ['archive', 'verify'], { cwd });
    expect(v).toMatchObject({ code: 0 });
    expect(v.stdout).toContain('✓ 2020-01-01.ndjson.gz  6 records, 0 rejections');

    writeFileSync(join(cwd, 'data/archive/2020-01-01.ndjson.gz'), 'garbage');
    const bad = await runCommand(archive, ['archive', 'verify', 'data/archive', '--format', 'json'], { cwd });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, files: [{ ok: false }] });
  });

  it('refuses an age it cannot read, and a database that is not there', async () => {
    const cwd = await workspace();
    const age = await runCommand(prune, ['prune', '--older-than', 'three months'], { cwd });
    expect(age.code).toBe(2);
    expect(age.stderr).toContain('olderThan must be an age such as 90d');
    const none = await runCommand(prune, ['prune', '--older-than', '90d', '--db', 'nothing.db'], { cwd });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('[BLH_ERR_STORE_OPEN]');
  });
});

describe('config check', () => {
  function write(cwd: string, config: object) {
    writeFileSync(join(cwd, 'bilhetagem.config.json'), JSON.stringify(config));
  }

  it('prints what would run and exits 0, or names each bad field and exits 1', async () => {
    const cwd = await workspace();
    const flags = ['config', 'check', '--rules', join(ROOT, 'rules'), '--mappings', join(ROOT, 'mappings'), '--retention', '90d'];
    const ok = await runCommand(configCheck, flags, { cwd });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`schema ${SCHEMA_VERSION}, current`);
    expect(ok.stdout).toContain('pending: billing 4');
    expect(ok.stdout).toContain(`retention:  archive to ${join(cwd, 'data/archive')} and prune delivered records older than 90d, every 60 min`);
    expect(ok.stdout).toContain('warning:    targets.billing: 4 outbox row(s) wait for target "billing"');
    expect(ok.stdout).toContain('server:     http://0.0.0.0:8080');

    const bad = await runCommand(configCheck, ['config', 'check', '--rules', join(ROOT, 'rules'), '--mappings', 'nowhere', '--queue', 'http://rabbit', '--format', 'json'], { cwd, env: { BILHETAGEM_RETENTION: 'forever' } });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).errors.map((e: { field: string }) => e.field)).toEqual(['mappings', 'queue', 'retention.olderThan']);
  });

  it('takes the store and the queue from the config file, as serve does', async () => {
    const cwd = await workspace();
    // A SQLite file named by `store` instead of --db, and a queue URL that is not AMQP: both from the file.
    write(cwd, { rules: join(ROOT, 'rules'), mappings: join(ROOT, 'mappings'), store: 'data/bilhetagem.db', queue: 'http://rabbit', db: 'nowhere/else.db' });
    const report = await runCommand(configCheck, ['config', 'check', '--format', 'json'], { cwd });
    expect(report.code).toBe(1);
    const json = JSON.parse(report.stdout);
    expect(json.store).toMatchObject({ kind: 'sqlite', where: join(cwd, 'data/bilhetagem.db') });
    expect(json.errors.map((e: { field: string }) => e.field)).toEqual(['queue']);
    // A flag still wins over the file.
    const flagged = await runCommand(configCheck, ['config', 'check', '--queue', 'amqp://guest:guest@127.0.0.1:1/', '--store', 'data/bilhetagem.db', '--format', 'json'], { cwd });
    expect(JSON.parse(flagged.stdout).errors.map((e: { field: string }) => e.field)).toEqual(['queue']);
    expect(JSON.parse(flagged.stdout).errors[0].message).not.toContain('http://rabbit');
  });

  it('checks the PostgreSQL schema that ?schema= names, as serve opens it, and passes pg a URL without it', () => {
    const ctx = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: {}, cwd: tmp.file('no-such-dir'), exitCode: 0 };
    const input = { db: 'data/bilhetagem.db', rules: join(ROOT, 'rules'), mappings: join(ROOT, 'mappings') };
    expect(configCheck.toConfigUnderCheck(ctx, { ...input, store: 'postgres://app@db:5432/billing?schema=tenant_a' }).store).toEqual({
      kind: 'postgres',
      connectionString: 'postgres://app@db:5432/billing',
      schema: 'tenant_a',
    });
    expect(configCheck.toConfigUnderCheck(ctx, { ...input, store: 'postgres://app@db:5432/billing' }).store).toEqual({ kind: 'postgres', connectionString: 'postgres://app@db:5432/billing' });
    expect(() => configCheck.toConfigUnderCheck(ctx, { ...input, store: 'mysql://db/billing' })).toThrow(/--store must be a postgres:\/\/ URL or a SQLite file/);
  });

  it('reads targets from the config file and names a missing secret', async () => {
    const cwd = await workspace();
    write(cwd, { rules: join(ROOT, 'rules'), mappings: join(ROOT, 'mappings') });
    const withTargets = { targets: { lago: { preset: 'lago', apiKey: '${LAGO_API_KEY}' } } };
    // The config file's `targets` section, read as serve will read it.
    const input = { db: 'data/bilhetagem.db', rules: join(ROOT, 'rules'), mappings: join(ROOT, 'mappings') };
    writeFileSync(join(cwd, 'targets.json'), JSON.stringify(withTargets));
    const ctx = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: {}, cwd, exitCode: 0 };
    const checked = configCheck.toConfigUnderCheck(ctx, { ...input, config: 'targets.json' });
    expect(checked.targets).toEqual(withTargets.targets);
    const report = await runCommand(configCheck, ['config', 'check'], { cwd });
    expect(report.code).toBe(0);
    let written = '';
    const quiet = { ...ctx, stderr: { write: (s: string) => ((written += s), true) } as never };
    await expect(configCheck.preflight(quiet, { ...input, config: 'targets.json' })).rejects.toMatchObject({
      code: 'BLH_ERR_CONFIG_INVALID',
      message: 'The configuration has 1 error(s): targets.lago.apiKey: environment variable LAGO_API_KEY is not set (BLH_ERR_ENV_MISSING)',
    });
    expect(written).toContain('bilhetagem: warning: retention: off');
    await expect(configCheck.preflight({ ...quiet, env: { LAGO_API_KEY: 'k' } }, { ...input, config: 'targets.json' })).resolves.toMatchObject({ ok: true });
  });
});
