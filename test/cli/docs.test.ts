import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/ruleset.ts';
import { CHECKS } from '../../src/lint/types.ts';
import { OPTIONS } from '../../src/cli/config.ts';

const doc = readFileSync(join(ROOT, 'docs/reference/cli.md'), 'utf8');

describe('docs/reference/cli.md', () => {
  it('lists every lint check', () => {
    expect(Object.keys(CHECKS).filter((c) => !doc.includes(`| \`${c}\` |`))).toEqual([]);
  });

  it('lists every option of the OPTIONS table with its environment variable and config key', () => {
    const keys = Object.keys(OPTIONS) as (keyof typeof OPTIONS)[];
    expect(keys.length).toBeGreaterThan(30);
    const missing = keys.map((k) => [k, OPTIONS[k]] as const).filter(([key, o]) => !doc.includes(`\`${o.env}\``) || !doc.includes(`| \`${key}\` |`));
    expect(missing.map(([k]) => k)).toEqual([]);
  });

  it('has a section per command', () => {
    for (const c of ['validate', 'convert', 'explain', 'lint', 'test', 'backtest']) expect(doc).toContain(`\n## ${c}\n`);
  });
});
