import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import { SCHEMA_VERSION as PG_SCHEMA_VERSION } from '../../src/adapters/postgres/migrations.ts';
import { assertConfigOk, checkConfig, describeConfigReport } from '../../src/ops/index.ts';
import type { ConfigUnderCheck } from '../../src/ops/index.ts';
import { ROOT } from '../support/ruleset.ts';
import { POSTGRES_URL, RABBITMQ_URL, requireService } from '../support/services.ts';
import { records, tempDir } from './support.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let n = 0;

function config(over: Partial<ConfigUnderCheck> = {}): ConfigUnderCheck {
  return {
    configFile: '/etc/bilhetagem/bilhetagem.config.json',
    rules: join(ROOT, 'rules'),
    mappings: join(ROOT, 'mappings'),
    store: { kind: 'sqlite', filename: tmp.file(`data-${++n}/bilhetagem.db`) },
    targets: {
      billing: { preset: 'http', url: 'https://billing.example.com/v1/charges', auth: { type: 'bearer', token: '${BILLING_TOKEN}' } },
      lago: { preset: 'lago', url: 'https://api.getlago.com', apiKey: '${LAGO_API_KEY}' },
    },
    retention: { olderThan: '90d', archiveDir: tmp.file(`data-${n}/archive`) },
    server: { host: '0.0.0.0', port: 8080 },
    ...over,
  };
}
const env = { BILHETAGEM_UNUSED: '1', BILHETAGEM_X: 'y', BILLING_TOKEN: 'secret-token', LAGO_API_KEY: 'lago-key' };

describe('checkConfig', () => {
  it('passes a sound configuration, says what would run, and creates nothing', async () => {
    const c = config();
    const report = await checkConfig(c, { env });
    expect(report.errors).toEqual([]);
    expect(report).toMatchObject({
      ok: true,
      ruleset: { types: expect.arrayContaining(['voice.call.completed']), mappings: ['default', 'lago', 'openmeter', 'stripe'] },
      targets: [
        { name: 'billing', preset: 'http', mapping: 'default', url: 'https://billing.example.com/v1/charges' },
        { name: 'lago', preset: 'lago', mapping: 'lago', url: 'https://api.getlago.com/' },
      ],
      store: { kind: 'sqlite', action: 'create', schemaVersion: null },
      queue: null,
      retention: { olderThan: '90d', intervalMs: 3_600_000 },
    });
    expect(existsSync((c.store as { filename: string }).filename)).toBe(false);
    const text = describeConfigReport(report).join('\n');
    expect(text).toContain('store:      sqlite');
    expect(text).toContain('(would be created)');
    expect(text).toContain('target:     lago — lago https://api.getlago.com/, sends mappings/lago');
    expect(text).not.toContain('lago-key');
    expect(text).toMatch(/ok: nothing was started$/);
    expect(() => assertConfigOk(report)).not.toThrow();
  });

  it('names every unset secret by its field, and leaves defaults and escapes alone', async () => {
    const report = await checkConfig(
      config({
        targets: {
          billing: { preset: 'http', url: '${BILLING_URL:-http://127.0.0.1:9090}/v1/charges', auth: { type: 'bearer', token: '${BILLING_TOKEN}' }, headers: { 'x-literal': '$${NOT_A_VAR}' } },
          lago: { preset: 'lago', apiKey: '${LAGO_API_KEY}' },
        },
      }),
      { env: {} },
    );
    expect(report.errors).toEqual([
      { field: 'targets.billing.auth.token', message: 'environment variable BILLING_TOKEN is not set', code: 'BLH_ERR_ENV_MISSING' },
      { field: 'targets.lago.apiKey', message: 'environment variable LAGO_API_KEY is not set', code: 'BLH_ERR_ENV_MISSING' },
    ]);
    expect(report.targets.map((t) => t.name)).toEqual(['billing', 'lago']);
    expect(() => assertConfigOk(report)).toThrow(
      expect.objectContaining({
        code: 'BLH_ERR_CONFIG_INVALID',
        message: 'The configuration has 2 error(s): targets.billing.auth.token: environment variable BILLING_TOKEN is not set (BLH_ERR_ENV_MISSING); targets.lago.apiKey: environment variable LAGO_API_KEY is not set (BLH_ERR_ENV_MISSING)',
        details: expect.objectContaining({ file: '/etc/bilhetagem/bilhetagem.config.json' }),
      }),
    );
  });

  it('names the field of a bad target', async () => {
    const report = await checkConfig(
      config({
        targets: {
          a: { preset: 'sap' },
          b: { preset: 'http', url: 'http://x/y', colour: 'blue' },
          c: { preset: 'http', url: 'http://x/y', mapping: 'nowhere' },
          d: { preset: 'http' },
        },
      }),
      { env },
    );
    expect(report.errors.map((e) => e.field)).toEqual(['targets.a.preset', 'targets.b.colour', 'targets.c.mapping', 'targets.d.url']);
    expect(report.errors[2].message).toContain('mappings/nowhere/, which does not exist');
  });

  it('names rules or mappings when the ruleset does not load or compile', async () => {
    expect((await checkConfig(config({ rules: tmp.file('no-rules') }), { env })).errors).toEqual([
      expect.objectContaining({ field: 'rules', code: 'BLH_ERR_FILE_READ' }),
    ]);
    const copy = tmp.file(`ruleset-${++n}`);
    cpSync(join(ROOT, 'rules'), join(copy, 'rules'), { recursive: true });
    cpSync(join(ROOT, 'mappings'), join(copy, 'mappings'), { recursive: true });
    const file = join(copy, 'mappings/lago/sms.sent.mapping.json');
    const mapping = JSON.parse(readFileSync(file, 'utf8'));
    mapping.expression = ['{ "transaction_id": source & }'];
    writeFileSync(file, JSON.stringify(mapping));
    const report = await checkConfig(config({ rules: join(copy, 'rules'), mappings: join(copy, 'mappings') }), { env });
    expect(report.errors).toEqual([expect.objectContaining({ field: 'mappings', code: 'BLH_ERR_MAPPING_SYNTAX' })]);
  });

  it('looks into an existing SQLite store without changing it: version, pending rows, targets that would not be served', async () => {
    const file = tmp.file(`existing-${++n}.db`);
    const store = createSqliteStore({ filename: file });
    await store.ingest(records(3, { target: 'openmeter' }));
    await store.close();
    const report = await checkConfig(config({ store: { kind: 'sqlite', filename: file, synchronous: 'NORMAL' } }), { env });
    expect(report.ok).toBe(true);
    expect(report.store).toMatchObject({ action: 'open', schemaVersion: expect.any(Number), pending: { openmeter: 3 } });
    expect(report.warnings).toEqual([
      { field: 'synchronous', message: expect.stringContaining('a power loss can lose records already answered 202') },
      { field: 'targets.openmeter', message: '3 outbox row(s) wait for target "openmeter", which is not configured: they would not be sent' },
    ]);
  });

  it('refuses a store file that is not a database, or that cannot be created', async () => {
    const text = tmp.file(`text-${++n}.db`);
    writeFileSync(text, 'hello '.repeat(200));
    expect((await checkConfig(config({ store: { kind: 'sqlite', filename: text } }), { env })).errors).toEqual([
      expect.objectContaining({ field: 'db', code: 'BLH_ERR_STORE_OPEN', message: expect.stringContaining('cannot be opened as a SQLite database') }),
    ]);
    const report = await checkConfig(config({ store: { kind: 'sqlite', filename: join(text, 'sub', 'x.db') }, retention: { olderThan: 'ninety days', archiveDir: join(text, 'archive') } }), { env });
    expect(report.errors).toEqual([
      { field: 'db', message: expect.stringContaining('is not a folder') },
      { field: 'retention.olderThan', message: expect.stringContaining('90d') },
      { field: 'retention.archiveDir', message: expect.stringContaining('is not a folder') },
    ]);
  });

  it('warns when nothing is forwarded and nothing is ever pruned', async () => {
    const report = await checkConfig(config({ targets: undefined, retention: null }), { env });
    expect(report.ok).toBe(true);
    expect(report.warnings.map((w) => w.field)).toEqual(['targets', 'retention']);
  });

  it('reports a PostgreSQL or RabbitMQ that cannot be reached, naming the field', async () => {
    const report = await checkConfig(
      config({ store: { kind: 'postgres', connectionString: 'postgres://app:hunter2@127.0.0.1:1/billing' }, queue: { url: 'amqp://guest:guest@127.0.0.1:1' } }),
      { env, timeoutMs: 2000 },
    );
    expect(report.errors.map((e) => e.field)).toEqual(['store', 'queue']);
    expect(report.errors[0].message).toContain('postgres://app:***@127.0.0.1:1/billing (schema "bilhetagem") cannot be reached');
    expect(JSON.stringify(report)).not.toContain('hunter2');
    expect((await checkConfig(config({ queue: { url: 'http://rabbit' } }), { env })).errors).toEqual([{ field: 'queue', message: expect.stringContaining('not an AMQP URL') }]);
  });
});

const postgres = await requireService('postgres');
describe.skipIf(!postgres.available)('checkConfig against PostgreSQL', () => {
  it('connects, reads the schema version, and creates nothing', async () => {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const report = await checkConfig(config({ store: { kind: 'postgres', connectionString: POSTGRES_URL, schema } }), { env });
    expect(report.errors).toEqual([]);
    expect(report.store).toMatchObject({ kind: 'postgres', action: 'create', schemaVersion: 0, targetVersion: PG_SCHEMA_VERSION });
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      expect((await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rows).toEqual([]);
      await client.query(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".schema_version (version integer PRIMARY KEY)`);
      await client.query(`INSERT INTO "${schema}".schema_version VALUES (${PG_SCHEMA_VERSION + 1})`);
      const newer = await checkConfig(config({ store: { kind: 'postgres', connectionString: POSTGRES_URL, schema } }), { env });
      expect(newer.errors).toEqual([{ field: 'store', code: 'BLH_ERR_SCHEMA_TOO_NEW', message: expect.stringContaining(`has schema version ${PG_SCHEMA_VERSION + 1}`) }]);
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  });
});

const rabbitmq = await requireService('rabbitmq');
describe.skipIf(!rabbitmq.available)('checkConfig against RabbitMQ', () => {
  it('connects to the queue and closes the connection', async () => {
    const report = await checkConfig(config({ queue: { url: RABBITMQ_URL } }), { env });
    expect(report.errors).toEqual([]);
    expect(report.queue).toEqual({ url: expect.stringMatching(/^amqp:\/\/guest:\*\*\*@127\.0\.0\.1:5672/) });
  });
});

