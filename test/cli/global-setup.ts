/**
 * The CLI tests spawn the built binary (bin/bilhetagem → dist/cli/main.js), so build it first — only
 * when dist is missing or older than a source file. Test runs started side by side share one build: a
 * lock folder makes the second wait for the first instead of cleaning dist under it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { ROOT } from '../support/ruleset.ts';

function newest(dir: string): number {
  let t = 0;
  for (const d of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (d.isFile()) t = Math.max(t, statSync(join(d.parentPath, d.name)).mtimeMs);
  }
  return t;
}

function fresh(): boolean {
  const built = join(ROOT, 'dist', 'cli', 'main.js');
  const sources = Math.max(newest(join(ROOT, 'src')), newest(join(ROOT, 'schemas')), statSync(join(ROOT, 'package.json')).mtimeMs, statSync(join(ROOT, 'tsup.config.ts')).mtimeMs);
  return existsSync(built) && statSync(built).mtimeMs >= sources;
}

// As tsup.config.ts: optional drivers stay out of the bundle.
const EXTERNAL = ['better-sqlite3', 'pg', 'amqplib', '@grpc/grpc-js', '@grpc/proto-loader', 'playwright-core'];

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export default function setup(): void {
  if (fresh()) return;
  const lock = join(tmpdir(), `bilhetagem-build-${createHash('sha1').update(ROOT).digest('hex').slice(0, 8)}.lock`);
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another run is building; a lock older than two minutes is left over from a killed run.
      const since = statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - since > 120_000 || Date.now() > deadline) rmSync(lock, { recursive: true, force: true });
      sleep(250);
      if (fresh()) return;
    }
  }
  try {
    if (!fresh()) {
      try {
        execFileSync('npx', ['tsup'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (e) {
        // The full build also emits index.d.ts, which fails while any file the public API reaches does
        // not typecheck; the CLI tests only need the JavaScript, so build that alone rather than fail.
        process.stderr.write(`global-setup: npx tsup failed, building the CLI without declarations\n${String((e as { stderr?: Buffer }).stderr ?? e).slice(-2000)}\n`);
        execFileSync('npx', ['tsup', 'src/cli/main.ts', '--no-config', '--format', 'esm', '--target', 'node20', '--out-dir', 'dist/cli', ...EXTERNAL.flatMap((x) => ['--external', x])], {
          cwd: ROOT,
          stdio: ['ignore', 'ignore', 'inherit'],
        });
      }
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
