import { describe, it, expect } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ROOT } from './support/ruleset.ts';

/** Every module the entry imports, following relative imports through the sources; bare specifiers collected. */
function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    // `import type` is erased at build time: it loads nothing.
    for (const m of text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gm)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (existsSync(target)) visit(target);
      } else packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
    }
  };
  visit(entry);
  return { files, packages };
}

describe('the package', () => {
  it('importing the library loads no server, driver or native module', () => {
    const { files, packages } = importGraph(join(ROOT, 'src/index.ts'));
    const rel = [...files].map((f) => f.slice(ROOT.length + 1));
    expect(rel.filter((f) => /^src\/(server|adapters|forwarder|cli|admin|grpc|queue|mock-biller)\//.test(f))).toEqual([]);
    for (const heavy of ['fastify', 'better-sqlite3', 'pg', 'amqplib', 'undici', '@grpc/grpc-js', 'pino', 'commander']) expect(packages, heavy).not.toContain(heavy);
    expect(packages).toContain('json-rules-engine');
  });

  it('src/core stays pure: no fs, net, process or clock', () => {
    const { files } = importGraph(join(ROOT, 'src/core/pipeline.ts'));
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      expect(text, f).not.toMatch(/from 'node:(fs|net|http|child_process)/);
      expect(text.replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, ''), f).not.toMatch(/\bprocess\.|Date\.now\(|performance\.now\(/);
    }
  });
});
