import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from '../support/ruleset.ts';

export const BIN = join(ROOT, 'bin', 'bilhetagem');
export const NOW = '2026-11-25T12:00:00Z';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built binary; the environment keeps PATH and HOME only, plus what `env` adds. */
export function cli(args: string[], o: { cwd?: string; env?: Record<string, string>; input?: string | Buffer } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: o.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...o.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(o.input ?? '');
  });
}

/** A temp folder with helpers to write files into it. */
export function tempDir(): { dir: string; path(rel: string): string; write(rel: string, content: string | Buffer | object): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-cli-'));
  return {
    dir,
    path: (rel) => join(dir, rel),
    write(rel, content) {
      const p = join(dir, rel);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, typeof content === 'string' || Buffer.isBuffer(content) ? content : JSON.stringify(content, null, 2));
      return p;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function voiceRecord(id: string, over: Record<string, unknown> = {}, data: Record<string, unknown> = {}) {
  return {
    specversion: '1.0',
    id,
    source: 'voice-platform',
    type: 'voice.call.completed',
    time: '2026-11-25T11:00:00Z',
    subject: 'acme',
    data: { duration_s: 61, from: '+5511987654321', to: '+5521912345678', direction: 'outbound', region: 'br-sp', ...data },
    ...over,
  };
}

export const ndjson = (records: unknown[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';
