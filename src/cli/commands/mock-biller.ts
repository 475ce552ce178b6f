/**
 * `bilhetagem mock-biller --port 9090`: a stand-in billing system for demos and tests. It serves the
 * generic HTTP, Lago, OpenMeter and Stripe endpoints, dedupes like the real ones, keeps what it received
 * (`GET /received`, `DELETE /received`) and injects faults on request (flags here, or `POST /faults`).
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { createMockBiller, Endpoints } from '../../mock-biller/index.ts';
import type { EndpointName, Faults, MockBiller } from '../../mock-biller/index.ts';
import type { CliContext } from '../context.ts';
import { println } from '../output.ts';

export interface MockBillerFlags {
  port: number;
  host: string;
  failureRate?: number;
  timeoutRate?: number;
  timeoutDelayMs?: number;
  latencyMs?: number;
  outageSeconds?: number;
  burst429?: number;
  retryAfter?: number;
  failAfterStoreRate?: number;
  seed?: number;
  apiKey: string[];
  keepItems: boolean;
}

const rate = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`${flag} must be a number from 0 to 1`);
  return n;
};
const count = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a number >= 0`);
  return n;
};

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('mock-biller')
    .description('run a mock billing system (generic HTTP, Lago, OpenMeter, Stripe endpoints) with fault injection, for demos and tests')
    .addOption(new Option('--port <n>', 'port to listen on (0: any free port)').env('BILHETAGEM_MOCK_PORT').default(9090).argParser(count('--port')))
    .addOption(new Option('--host <address>', 'address to listen on').env('BILHETAGEM_MOCK_HOST').default('127.0.0.1'))
    .addOption(new Option('--failure-rate <r>', 'share of requests answered 500 without storing (0-1)').env('BILHETAGEM_MOCK_FAILURE_RATE').argParser(rate('--failure-rate')))
    .addOption(new Option('--timeout-rate <r>', 'share of requests never answered (0-1)').env('BILHETAGEM_MOCK_TIMEOUT_RATE').argParser(rate('--timeout-rate')))
    .addOption(new Option('--timeout-delay-ms <ms>', 'answer a "timed out" request 504 after this long instead of never').argParser(count('--timeout-delay-ms')))
    .addOption(new Option('--latency-ms <ms>', 'added before every billing request is answered').env('BILHETAGEM_MOCK_LATENCY_MS').argParser(count('--latency-ms')))
    .addOption(new Option('--outage-seconds <s>', 'answer every request 503 (with Retry-After) for this long from the start').argParser(count('--outage-seconds')))
    .addOption(new Option('--burst-429 <n>', 'answer the first n requests 429 (with Retry-After)').argParser(count('--burst-429')))
    .addOption(new Option('--retry-after <s>', 'Retry-After of the 429 burst, seconds (default 1)').argParser(count('--retry-after')))
    .addOption(new Option('--fail-after-store-rate <r>', 'share of requests stored and then answered 500 (what idempotency keys are for)').argParser(rate('--fail-after-store-rate')))
    .addOption(new Option('--seed <n>', 'seed of the fault generator (same seed, same faults)').argParser(count('--seed')))
    .addOption(
      new Option('--api-key <endpoint=key>', `require "Authorization: Bearer <key>" on an endpoint (${Endpoints.join(', ')}); repeatable`)
        .argParser((v: string, all: string[] = []) => {
          const [endpoint, key] = [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)];
          if (!(Endpoints as readonly string[]).includes(endpoint) || key === '' || !v.includes('=')) {
            throw new InvalidArgumentError(`--api-key takes <endpoint>=<key> with endpoint one of ${Endpoints.join(', ')}`);
          }
          return [...all, v];
        })
        .default([]),
    )
    .option('--no-keep-items', 'keep only keys and counts, not the items (long runs, benchmarks)');
  cmd.addHelpText(
    'after',
    `
Endpoints: POST /v1/charges (generic), /api/v1/events and /api/v1/events/batch (Lago; OpenMeter by content
type), /v1/billing/meter_events (Stripe); GET|DELETE /received; GET|POST|DELETE /faults; GET /health.

Example:
  $ bilhetagem mock-biller --port 9090
  $ bilhetagem mock-biller --failure-rate 0.3 --timeout-rate 0.1 --burst-429 50
  $ curl -s localhost:9090/received?items=false`,
  );
  cmd.action(async (flags: MockBillerFlags) => {
    const running = await startMockBiller(ctx, flags);
    await running.closed;
  });
}

export function faultsOf(flags: Partial<MockBillerFlags>): Faults {
  const f: Faults = {};
  if (flags.failureRate !== undefined) f.failureRate = flags.failureRate;
  if (flags.timeoutRate !== undefined) f.timeoutRate = flags.timeoutRate;
  if (flags.timeoutDelayMs !== undefined) f.timeoutDelayMs = flags.timeoutDelayMs;
  if (flags.latencyMs !== undefined) f.latencyMs = flags.latencyMs;
  if (flags.outageSeconds !== undefined) f.outageSeconds = flags.outageSeconds;
  if (flags.failAfterStoreRate !== undefined) f.failAfterStoreRate = flags.failAfterStoreRate;
  if (flags.seed !== undefined) f.seed = flags.seed;
  if (flags.burst429 !== undefined) f.burst429 = { count: Math.floor(flags.burst429), retryAfterS: flags.retryAfter ?? 1 };
  return f;
}

export interface RunningMockBiller {
  biller: MockBiller;
  url: string;
  stop(): Promise<void>;
  closed: Promise<void>;
}

/** Starts the mock biller and stops it on SIGTERM/SIGINT. `npm start` runs one beside the server. */
export async function startMockBiller(ctx: CliContext, flags: Partial<MockBillerFlags> = {}, { signals = true }: { signals?: boolean } = {}): Promise<RunningMockBiller> {
  const apiKeys: Partial<Record<EndpointName, string>> = {};
  for (const pair of flags.apiKey ?? []) apiKeys[pair.slice(0, pair.indexOf('=')) as EndpointName] = pair.slice(pair.indexOf('=') + 1);
  const biller = createMockBiller({ faults: faultsOf(flags), keepItems: flags.keepItems ?? true, apiKeys });
  const { url } = await biller.listen(flags.port ?? 9090, flags.host ?? '127.0.0.1');
  const faults = faultsOf(flags);
  println(ctx.stderr, `mock biller listening on ${url}${Object.keys(faults).length ? ` with faults ${JSON.stringify(faults)}` : ''}`);
  println(ctx.stderr, `  generic ${url}/v1/charges · Lago ${url}/api/v1/events[/batch] · OpenMeter ${url}/api/v1/events · Stripe ${url}/v1/billing/meter_events`);
  println(ctx.stderr, `  what it received: ${url}/received`);

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      await biller.close();
      resolveClosed();
    })());
  const handlers: [NodeJS.Signals, () => void][] = signals
    ? [
        ['SIGTERM', () => void stop()],
        ['SIGINT', () => void stop()],
      ]
    : [];
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return { biller, url, stop, closed };
}
