/**
 * A product service talking to bilhetagem over gRPC: validate, transform, submit a batch, then stream.
 *
 *   BILHETAGEM_GRPC=localhost:9090 BILHETAGEM_API_KEY=blh_... node --import tsx examples/grpc-client.ts
 *
 * Without BILHETAGEM_GRPC it starts its own server first (the shipped ruleset, a throwaway SQLite database
 * and a fresh key), so it runs anywhere. Services in other languages generate their stubs from
 * proto/bilhetagem/v1/bilhetagem.proto instead; docs/reference/grpc.md shows grpcurl too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '../src/adapters/sqlite/index.ts';
import { issueApiKey } from '../src/auth/index.ts';
import { createGrpcClient, GrpcCallError, startGrpcServer } from '../src/grpc/index.ts';
import { createPipeline, loadRuleset } from '../src/index.ts';

const NOW = '2026-11-25T12:00:00Z';

async function demoServer() {
  const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-grpc-example-'));
  const store = createSqliteStore({ filename: join(dir, 'bilhetagem.db') });
  const { key } = await issueApiKey(store, { name: 'example', sources: ['voice-platform'] });
  // "now" is fixed so the example's record times stay fresh; a real server uses the clock.
  const pipeline = createPipeline(await loadRuleset({ rules: 'rules', mappings: 'mappings' }), { clock: () => Date.parse(NOW) });
  const server = await startGrpcServer({ port: 0, host: '127.0.0.1', store, pipeline, clock: () => Date.parse(NOW) });
  return {
    address: server.address,
    key,
    async close() {
      await server.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const own = process.env.BILHETAGEM_GRPC ? undefined : await demoServer();
const address = process.env.BILHETAGEM_GRPC ?? own!.address;
const apiKey = process.env.BILHETAGEM_API_KEY ?? own!.key;

const call = (id: string, subject = 'acme', data: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id,
  source: 'voice-platform',
  type: 'voice.call.completed',
  time: '2026-11-25T11:58:00Z',
  subject,
  data: { duration_s: 125, from: '+5511987654321', to: '+5521912345678', direction: 'outbound', region: 'br-sp', ...data },
});

const client = await createGrpcClient({ address, apiKey });
try {
  // Validate: verdicts and every reason, nothing stored.
  const checked = await client.validate([call('call-1'), call('call-2', 'nobody')]);
  for (const r of checked.results) console.log(`validate ${r.id}: ${r.status}`, r.errors?.map((e) => e.code).join(', ') ?? '');

  // Transform: what each billing target would receive.
  const mapped = await client.transform([call('call-1')], { targets: ['lago'] });
  console.log('transform call-1 for lago:', JSON.stringify(mapped.results[0].outputs?.lago));

  // Submit: answered after the commit; sending it again is a duplicate, not an error.
  const first = await client.submit([call('call-1'), call('call-3', 'acme', { direction: 'inbound' })]);
  console.log('submit:', first.results.map((r) => `${r.id}=${r.status}`).join(' '), `(ruleset ${first.rulesetVersion})`);
  const again = await client.submit([call('call-1')]);
  console.log('submit again:', again.results[0].status);

  // SubmitStream: one answer per record, in order, each after its commit.
  const stream = client.submitStream();
  for (let i = 0; i < 5; i++) stream.send(call(`stream-${i}`));
  stream.end();
  for await (const a of stream.answers()) console.log(`stream #${a.sequence} ${a.result.id}: ${a.result.status}`);

  // A call the server refuses ends with a status and a stable code.
  try {
    await client.submit([{ ...call('call-9'), source: 'sms-gateway' }]);
  } catch (error) {
    if (!(error instanceof GrpcCallError)) throw error;
    console.log(`refused: ${error.grpcStatusName} ${error.code}: ${error.message}`);
  }
} finally {
  client.close();
  await own?.close();
}
