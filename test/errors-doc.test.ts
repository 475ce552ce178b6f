import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './support/ruleset.ts';
import { PipelineCodes } from '../src/index.ts';

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => join(d.parentPath, d.name));
}

describe('docs/errors.md', () => {
  const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
  it('lists every BLH_ERR_* code used in src/', () => {
    const codes = new Set<string>();
    for (const f of sources(join(ROOT, 'src'))) for (const m of readFileSync(f, 'utf8').matchAll(/BLH_ERR_[A-Z0-9_]+/g)) codes.add(m[0]);
    expect(codes.size).toBeGreaterThan(5);
    const missing = [...codes].filter((c) => !doc.includes(`\`${c}\``));
    expect(missing).toEqual([]);
  });
  it('lists every pipeline rejection code', () => {
    const missing = Object.values(PipelineCodes).filter((c) => !doc.includes(`\`${c}\``));
    expect(missing).toEqual([]);
  });
  it('lists every code of the default ruleset', () => {
    const codes = new Set<string>();
    for (const f of readdirSync(join(ROOT, 'rules/rules'))) for (const m of readFileSync(join(ROOT, 'rules/rules', f), 'utf8').matchAll(/"code": "([A-Z_]+)"/g)) codes.add(m[1]);
    const manifest = JSON.parse(readFileSync(join(ROOT, 'rules/manifest.json'), 'utf8'));
    codes.add(manifest.unknownType.code);
    expect(codes.size).toBeGreaterThanOrEqual(9);
    expect([...codes].filter((c) => !doc.includes(`\`${c}\``))).toEqual([]);
  });
});
