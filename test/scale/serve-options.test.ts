/**
 * `serve --store` and `--queue`: which store a spec names, and what `serve` refuses before it starts. The
 * many-process test shows them working together; this shows the edges.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { Command } from 'commander';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/adapters/sqlite/index.ts';
import { issueApiKey } from '../../src/auth/issue-key.ts';
import * as serve from '../../src/cli/commands/serve.ts';
import { describeStore, storeSpec } from '../../src/cli/store.ts';
import type { CliContext } from '../../src/cli/context.ts';
import { deletePrefix, expectCode, lockBroker, waitFor } from '../queue/support.ts';
import { RABBITMQ_URL, requireService } from '../support/services.ts';
import { MAPPINGS_DIR, RULES_DIR } from '../support/ruleset.ts';

describe('--store', () => {
  const ctx = { cwd: '/srv/app' };

  it('is the SQLite file of --db when not given', () => {
    expect(storeSpec(ctx, { db: './data/b.db' })).toEqual({ kind: 'sqlite', filename: '/srv/app/data/b.db' });
    expect(storeSpec(ctx, { db: './data/b.db', store: '' })).toEqual({ kind: 'sqlite', filename: '/srv/app/data/b.db' });
  });

  it('takes a SQLite file, relative to the working directory', () => {
    expect(storeSpec(ctx, { db: 'x.db', store: 'other/bilhetagem.db' })).toEqual({ kind: 'sqlite', filename: '/srv/app/other/bilhetagem.db' });
  });

  it('takes a postgres:// or postgresql:// URL; ?schema= names the schema and is not passed to pg', () => {
    expect(storeSpec(ctx, { db: 'x.db', store: 'postgres://u:pw@db:5432/billing?sslmode=require&schema=eu_1' })).toEqual({
      kind: 'postgres',
      connectionString: 'postgres://u:pw@db:5432/billing?sslmode=require',
      schema: 'eu_1',
    });
    expect(storeSpec(ctx, { db: 'x.db', store: 'postgresql://db/billing' })).toEqual({ kind: 'postgres', connectionString: 'postgresql://db/billing', schema: undefined });
  });

  it('refuses another scheme with BLH_ERR_OPTIONS, without echoing the URL', async () => {
    const error = await expectCode(() => storeSpec(ctx, { db: 'x.db', store: 'mysql://root:secret@db/billing' }), 'BLH_ERR_OPTIONS');
    expect(error.message).not.toContain('secret');
  });

  it('is described in logs without the password', () => {
    expect(describeStore({ kind: 'postgres', connectionString: 'postgres://u:pw@db:5432/billing?sslmode=require', schema: 'eu_1' })).toBe('postgres://u@db:5432/billing (schema "eu_1")');
    expect(describeStore({ kind: 'sqlite', filename: '/srv/app/b.db' })).toBe('/srv/app/b.db');
  });
});

const rabbitmq = await requireService('rabbitmq');

describe.skipIf(!rabbitmq.available)('serve --queue (SQLite store, live RabbitMQ)', () => {
  let dir = '';
  let unlock: () => void = () => undefined;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    unlock = await lockBroker();
    await deletePrefix('bilhetagem', ['default', 'lago', 'openmeter', 'stripe']);
    dir = mkdtempSync(join(tmpdir(), 'bilhetagem-serve-queue-'));
  }, 600_000);
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });
  afterAll(async () => {
    await deletePrefix('bilhetagem', ['default', 'lago', 'openmeter', 'stripe']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    unlock();
  });

  function context(): { ctx: CliContext; out: () => string } {
    let out = '';
    const sink = new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) });
    return { ctx: { stdout: sink, stderr: sink, stdin: new PassThrough(), env: {}, cwd: dir, exitCode: 0 }, out: () => out };
  }

  const base = (db: string) => ['serve', '--db', db, '--port', '0', '--host', '127.0.0.1', '--rules', RULES_DIR, '--mappings', MAPPINGS_DIR, '--no-watch', '--log-level', 'info'];

  it('refuses a --handover-ms not above twice a target timeoutMs, naming the target', async () => {
    const config = join(dir, 'short.config.json');
    writeFileSync(config, JSON.stringify({ targets: { lago: { preset: 'lago', url: 'http://127.0.0.1:9', apiKey: 'k', timeoutMs: 5000 } } }));
    const { ctx } = context();
    const program = new Command('bilhetagem').exitOverride();
    serve.register(program, ctx);
    const error = await expectCode(program.parseAsync([...base(join(dir, 'a.db')), '--queue', RABBITMQ_URL, '--handover-ms', '10000', '--config', config], { from: 'user' }), 'BLH_ERR_OPTIONS');
    expect(error.message).toContain('target "lago"');
  });

  it('runs the relay instead of the forwarder: accepted records are published to the target queues', async () => {
    const db = join(dir, 'b.db');
    const store = createSqliteStore({ filename: db });
    const { key } = await issueApiKey(store, { name: 't', sources: ['voice-platform'] });
    await store.close();
    const config = join(dir, 'ok.config.json');
    writeFileSync(config, JSON.stringify({ targets: { lago: { preset: 'lago', url: 'http://127.0.0.1:9', apiKey: 'k', timeoutMs: 1000 } } }));
    const { ctx, out } = context();
    const program = new Command('bilhetagem').exitOverride();
    serve.register(program, ctx);
    void program.parseAsync([...base(db), '--queue', RABBITMQ_URL, '--handover-ms', '60000', '--config', config], { from: 'user' });
    await waitFor(() => out().includes('"event":"server:listening"'), 20_000, 'the server to listen');
    const listening = JSON.parse(out().split('\n').find((l) => l.includes('"event":"server:listening"'))!) as { port: number; queue: string };
    expect(listening.queue).toMatch(/^amqp:\/\/guest:\*\*\*@127\.0\.0\.1:5672/);
    stops.push(async () => {
      process.emit('SIGTERM', 'SIGTERM');
      await waitFor(() => out().includes('"event":"server:closed"'), 20_000, 'the server to close');
    });
    const record = { specversion: '1.0', id: 'q-1', source: 'voice-platform', type: 'voice.call.completed', time: new Date(Date.now() - 60_000).toISOString(), subject: 'acme', data: { duration_s: 60, from: '+5511987654321', to: '+5521912345678', direction: 'outbound', region: 'br-sp' } };
    const res = await request(`http://127.0.0.1:${listening.port}/v1/records`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(record) });
    expect(res.statusCode).toBe(202);
    const readyz = async () => (await (await request(`http://127.0.0.1:${listening.port}/readyz`)).body.json()) as { forwarder?: { targets: Record<string, { published: number }> } };
    expect(Object.keys((await readyz()).forwarder!.targets)).toEqual(['lago']);
    // The relay declares a target's queue with its first publish: asking the broker about the queue before
    // that is a 404 that closes the channel.
    await waitFor(async () => (await readyz()).forwarder!.targets.lago!.published === 1, 10_000, 'the relay to publish the record');
    const amqp = await import('amqplib');
    const connection = await amqp.connect(RABBITMQ_URL);
    try {
      const ch = await connection.createChannel();
      await waitFor(async () => (await ch.checkQueue('bilhetagem.lago')).messageCount === 1, 10_000, 'the message on bilhetagem.lago');
      const message = await ch.get('bilhetagem.lago', { noAck: true });
      expect(message && JSON.parse(message.content.toString())).toMatchObject({ target: 'lago', source: 'voice-platform', recordId: 'q-1' });
    } finally {
      await connection.close();
    }
  });
});
