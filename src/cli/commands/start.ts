/**
 * `bilhetagem start` (and `npm start`): everything at once on embedded defaults, so a new user sees records
 * arrive — the mock biller, the ingest server on SQLite with the forwarder delivering to the mock biller
 * (or to the targets of bilhetagem.config.json when it has some), and a demo batch sent through the HTTP
 * API with a short-lived key. Then it keeps running until SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { request } from 'undici';
import { addOptions, configSection, resolveOptions } from '../config.ts';
import type { CliContext } from '../context.ts';
import { mockBillerTargets } from '../../forwarder/index.ts';
import type { TargetsConfig } from '../../forwarder/index.ts';
import { issueApiKey } from '../../auth/issue-key.ts';
import { addRetentionOptions, retentionOptions } from './config-check.ts';
import { startServer } from './serve.ts';
import { startMockBiller } from './mock-biller.ts';
import { demoRecords } from '../demo-records.ts';

const OPTIONS = ['db', 'port', 'host', 'rules', 'mappings', 'logLevel', 'watch', 'bodyLimit', 'maxBatch', 'rateLimit', 'rateBurst', 'synchronous', 'trustProxy', 'grpc', 'leaseMs', 'pollIntervalMs', 'claimSize'] as const;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program.command('start').description('run the demo: mock biller + ingest server + forwarder, and send a demo batch through it');
  addOptions(cmd, OPTIONS);
  addRetentionOptions(cmd);
  cmd
    .option('--biller-port <port>', 'port of the mock biller (0: any free port)', (v) => Number(v), 9090)
    .option('--no-demo', 'do not send the demo batch');
  cmd.addHelpText(
    'after',
    `
With no "targets" in bilhetagem.config.json, the forwarder delivers to the mock biller (generic HTTP, Lago,
OpenMeter and Stripe endpoints); see what arrived at http://127.0.0.1:9090/received.

Example:
  $ npm start
  $ bilhetagem start --port 8081 --biller-port 0 --no-demo`,
  );
  cmd.action(async () => {
    const o = resolveOptions(cmd, OPTIONS, ctx.env, ctx.cwd);
    const flags = cmd.opts() as { billerPort: number; demo: boolean };
    const configured = configSection(cmd, 'targets', ctx.cwd) as TargetsConfig | undefined;
    const biller = await startMockBiller(ctx, { port: flags.billerPort }, { signals: false });
    const targets = configured && Object.keys(configured).length > 0 ? configured : mockBillerTargets(biller.url);
    let running;
    try {
      running = await startServer(ctx, o, { targets, ...retentionOptions(cmd) });
    } catch (error) {
      await biller.stop();
      throw error;
    }
    const base = `http://${o.host === '0.0.0.0' ? '127.0.0.1' : o.host}:${running.port}`;
    const say = (line = '') => ctx.stderr.write(`${line}\n`);
    say();
    say(`bilhetagem is running: ingest API ${base}/v1/records · API docs ${base}/docs · metrics ${base}/metrics`);
    say(`forwarding to ${Object.keys(targets).join(', ')}${configured ? '' : ` at the mock biller ${biller.url} (what arrived: ${biller.url}/received)`}`);
    if (flags.demo) await sendDemo(ctx, running.store, base, biller.url).catch((e) => say(`demo batch not sent: ${(e as Error).message}`));
    say('Ctrl-C stops everything.');
    await running.closed;
    await biller.stop();
  });
}

/** POSTs a fresh demo batch with a key made for it and revoked right after, then shows what the biller got. */
async function sendDemo(ctx: CliContext, store: Parameters<typeof issueApiKey>[0] & { revokeApiKey(id: string): Promise<unknown> }, base: string, billerUrl: string): Promise<void> {
  const say = (line = '') => ctx.stderr.write(`${line}\n`);
  const { key, info } = await issueApiKey(store, { name: 'start-demo (revoked after use)', sources: ['*'] });
  try {
    const records = demoRecords(Date.now());
    const res = await request(`${base}/v1/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify(records),
    });
    const body = (await res.body.json()) as { counts?: Record<string, number>; results?: { status: string; errors?: { code: string }[]; code?: string }[] };
    const counts = Object.entries(body.counts ?? {})
      .map(([k, v]) => `${v} ${k}`)
      .join(', ');
    say(`demo batch: ${records.length} records sent to POST /v1/records → HTTP ${res.statusCode}: ${counts}`);
    const codes = new Map<string, number>();
    for (const r of body.results ?? []) for (const c of r.errors?.map((e) => e.code) ?? (r.code ? [r.code] : [])) codes.set(c, (codes.get(c) ?? 0) + 1);
    if (codes.size) say(`  skipped/rejected by code: ${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}`);
  } finally {
    await store.revokeApiKey(info.id);
  }
  // Give the forwarder a moment, then show what reached the biller.
  await new Promise((r) => setTimeout(r, 1500));
  try {
    const rec = await request(`${billerUrl}/received?items=false`);
    const seen = (await rec.body.json()) as { endpoints?: Record<string, { distinct: number }> };
    const line = Object.entries(seen.endpoints ?? {})
      .map(([k, v]) => `${k} ${v.distinct}`)
      .join(', ');
    if (line) say(`the mock biller has received (distinct records per endpoint): ${line}`);
  } catch {
    // The demo line is a courtesy; the biller is still there to look at.
  }
}
