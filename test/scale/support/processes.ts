/** Child processes for the scale test: `bilhetagem serve` and `bilhetagem worker`, run from source with tsx. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../../support/ruleset.ts';

const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const MAIN = join(ROOT, 'src/cli/main.ts');
const WORKER = join(ROOT, 'test/scale/support/worker-cli.ts');

export interface Proc {
  name: string;
  child: ChildProcess;
  /** The HTTP port, for a server. */
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines it wrote (stdout and stderr), for a failure message. */
  tail(): string;
  /** JSON log lines it wrote, parsed. */
  events(): Record<string, unknown>[];
}

function start(name: string, script: string, args: string[], cwd: string, ready: (line: Record<string, unknown>) => number | undefined): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', TSX, script, ...args], { cwd, env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const parsed: Record<string, unknown>[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return new Promise((resolve, reject) => {
    let port: number | undefined;
    let pending = '';
    const onData = (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const parts = pending.split('\n');
      pending = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 400) lines.shift();
        if (!line.startsWith('{')) continue;
        let json: Record<string, unknown>;
        try {
          json = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        parsed.push(json);
        if (port === undefined) {
          const p = ready(json);
          if (p !== undefined) {
            port = p;
            resolve(proc);
          }
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(`[stderr] ${line}`);
    });
    const proc: Proc = {
      name,
      child,
      get port() {
        return port ?? 0;
      },
      exited,
      tail: () => lines.slice(-60).join('\n'),
      events: () => parsed,
    };
    void exited.then(({ code, signal }) => {
      if (port === undefined) reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${lines.slice(-40).join('\n')}`));
    });
  });
}

export function startServer(name: string, args: string[], cwd: string): Promise<Proc> {
  return start(name, MAIN, ['serve', ...args], cwd, (line) => (line.event === 'server:listening' ? Number(line.port) : undefined));
}

export function startWorker(name: string, args: string[], cwd: string): Promise<Proc> {
  return start(name, WORKER, args, cwd, (line) => (line.event === 'worker:started' ? 0 : undefined));
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopProc(p: Proc, graceMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.exited;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  try {
    return await p.exited;
  } finally {
    clearTimeout(timer);
  }
}
