import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { mkdtempSync, cpSync, writeFileSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RULES_DIR = join(ROOT, 'rules');
export const MAPPINGS_DIR = join(ROOT, 'mappings');

/** A throwaway copy of the shipped rules/ and mappings/ (and schemas/, for $schema links) to break on purpose. */
export function copyRuleset(): { dir: string; rules: string; mappings: string; write(rel: string, content: string | object): void; read(rel: string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'bilhetagem-ruleset-'));
  cpSync(RULES_DIR, join(dir, 'rules'), { recursive: true });
  cpSync(MAPPINGS_DIR, join(dir, 'mappings'), { recursive: true });
  cpSync(join(ROOT, 'schemas'), join(dir, 'schemas'), { recursive: true });
  return {
    dir,
    rules: join(dir, 'rules'),
    mappings: join(dir, 'mappings'),
    write(rel, content) {
      const p = join(dir, rel);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    },
    read(rel) {
      return readFileSync(join(dir, rel), 'utf8');
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const NOW = '2026-11-25T12:00:00Z';

export function voice(over: Record<string, any> = {}, data: Record<string, any> = {}) {
  return {
    specversion: '1.0',
    id: 'call-1',
    source: 'voice-platform',
    type: 'voice.call.completed',
    time: '2026-11-25T11:00:00Z',
    subject: 'acme',
    data: { duration_s: 61, from: '+5511987654321', to: '+5521912345678', direction: 'outbound', region: 'br-sp', ...data },
    ...over,
  };
}
