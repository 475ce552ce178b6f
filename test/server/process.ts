/** Runs `bilhetagem serve` / `keys` in a child process (through test/server/fixtures/cli.ts) for process-level tests. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../support/ruleset.ts';

const ENTRY = join(ROOT, 'test/server/fixtures/cli.ts');
// Resolved here, so a child started in another folder (without node_modules) still finds tsx.
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  origin: string;
  stdout(): string;
  stderr(): string;
  /** Parsed JSON log lines so far. */
  logs(): Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, ENTRY, ...args], { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `serve` on port 0 and resolves once its "server:listening" line names the port. */
export function startServe(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', TSX, ENTRY, 'serve', '--port', '0', '--host', '127.0.0.1', ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const logs = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not start in time\nstdout: ${out}\nstderr: ${err}`));
    }, options.timeoutMs ?? 30_000);
    const check = () => {
      const listening = logs().find((l) => l.event === 'server:listening');
      if (!listening) return;
      clearTimeout(timer);
      const port = listening.port as number;
      resolve({ child, port, origin: `http://127.0.0.1:${port}`, stdout: () => out, stderr: () => err, logs, exited });
    };
    child.stdout!.on('data', (d) => {
      out += d;
      check();
    });
    child.stderr!.on('data', (d) => (err += d));
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code ?? signal}) before listening\nstdout: ${out}\nstderr: ${err}`));
    });
  });
}

/** The demo key printed on the first start. */
export function demoKey(stderr: string): string {
  const m = /demo API key:\s+(blh_\S+)/.exec(stderr);
  if (!m) throw new Error(`no demo key in:\n${stderr}`);
  return m[1];
}

export function adminPassword(stderr: string): string {
  const m = /admin account:\s+admin \/ (\S+)/.exec(stderr);
  if (!m) throw new Error(`no admin password in:\n${stderr}`);
  return m[1];
}

/** A valid voice record for the shipped ruleset, timed a minute ago by the real clock. */
export function liveVoice(id: string, source = 'voice-platform') {
  return {
    specversion: '1.0',
    id,
    source,
    type: 'voice.call.completed',
    time: new Date(Date.now() - 60_000).toISOString(),
    subject: 'acme',
    data: { duration_s: 61, from: '+5511987654321', to: '+5521912345678', direction: 'outbound', region: 'br-sp' },
  };
}
