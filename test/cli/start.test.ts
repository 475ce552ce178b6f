import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../support/ruleset.ts';

/** `npm start` as a new user runs it: mock biller + server + forwarder + a demo batch, then SIGTERM. */
describe('bilhetagem start', () => {
  it('runs the whole chain on embedded defaults: the demo batch reaches the mock biller once per accepted record', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-start-'));
    cpSync(join(ROOT, 'rules'), join(dir, 'rules'), { recursive: true });
    cpSync(join(ROOT, 'mappings'), join(dir, 'mappings'), { recursive: true });
    const child = spawn(process.execPath, [join(ROOT, 'bin/bilhetagem'), 'start', '--port', '0', '--biller-port', '0', '--log-level', 'warn'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.resume();
    try {
      const deadline = Date.now() + 40_000;
      while (!/Ctrl-C stops everything/.test(err) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      expect(err).toMatch(/admin account:\s+admin \/ \S+/);
      expect(err).toMatch(/demo API key:\s+blh_\S+/);
      const accepted = Number(/→ HTTP 202: (\d+) accepted/.exec(err)?.[1]);
      expect(accepted).toBeGreaterThan(10);
      const charges = Number(/charges (\d+)/.exec(err)?.[1]);
      expect(charges).toBe(accepted);
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
