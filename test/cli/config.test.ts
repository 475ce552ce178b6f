import { describe, it, expect, afterEach } from 'vitest';
import { cli, tempDir, voiceRecord, ndjson, NOW } from './helpers.ts';
import { RULES_DIR, MAPPINGS_DIR, copyRuleset } from '../support/ruleset.ts';

let tmp: ReturnType<typeof tempDir> | undefined;
afterEach(() => tmp?.cleanup());

/** A folder with a record file and the shipped ruleset referenced by absolute paths. */
function setup() {
  const t = (tmp = tempDir());
  // Accepted at NOW, rejected TIME_TOO_OLD at LATER: which "now" won shows in the exit code.
  t.write('r.ndjson', ndjson([voiceRecord('a')]));
  return t;
}
const LATER = '2027-06-01T00:00:00Z';

describe('options: flag > environment > config file > default', () => {
  it('a config file in the cwd is read, and its paths are relative to it', async () => {
    const t = setup();
    t.write('bilhetagem.config.json', { rules: RULES_DIR, mappings: MAPPINGS_DIR, now: LATER, format: 'json' });
    const r = await cli(['validate', 'r.ndjson'], { cwd: t.dir });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout.trim().split('\n')[0])).toMatchObject({ type: 'rejection', errors: [{ code: 'TIME_TOO_OLD' }] });
  });

  it('an environment variable beats the config file', async () => {
    const t = setup();
    t.write('bilhetagem.config.json', { rules: RULES_DIR, mappings: MAPPINGS_DIR, now: LATER });
    const r = await cli(['validate', 'r.ndjson'], { cwd: t.dir, env: { BILHETAGEM_NOW: NOW } });
    expect(r.code).toBe(0);
  });

  it('a flag beats the environment', async () => {
    const t = setup();
    const r = await cli(['validate', 'r.ndjson', '--rules', RULES_DIR, '--mappings', MAPPINGS_DIR, '--now', LATER], { cwd: t.dir, env: { BILHETAGEM_NOW: NOW } });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('TIME_TOO_OLD');
  });

  it('defaults apply when nothing is given: ./rules and ./mappings', async () => {
    const r = await cli(['validate', 'examples/record.json', '--now', NOW]);
    expect(r.stdout).toContain('PREMIUM_NOT_ALLOWED');
    const t = setup();
    const elsewhere = await cli(['validate', 'r.ndjson', '--now', NOW], { cwd: t.dir });
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toMatch(/cannot read the rules folder "[^"]*rules".*\[BLH_ERR_FILE_READ\]/);
  });

  it('--config (or BILHETAGEM_CONFIG) names another file', async () => {
    const t = setup();
    t.write('conf/other.json', { rules: RULES_DIR, mappings: MAPPINGS_DIR, now: LATER });
    expect((await cli(['validate', 'r.ndjson', '--config', 'conf/other.json'], { cwd: t.dir })).code).toBe(1);
    expect((await cli(['validate', 'r.ndjson'], { cwd: t.dir, env: { BILHETAGEM_CONFIG: 'conf/other.json', BILHETAGEM_NOW: NOW } })).code).toBe(0);
  });

  it('an unknown key in the config file is rejected by name', async () => {
    const t = setup();
    t.write('bilhetagem.config.json', { rules: RULES_DIR, rulez: 'x' });
    const r = await cli(['validate', 'r.ndjson', '--now', NOW], { cwd: t.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bilhetagem\.config\.json: unknown key "rulez" \(known: rules, mappings, .*\) \[BLH_ERR_OPTIONS\]/);
  });

  it('a config value of the wrong type is rejected, and invalid JSON is pointed at', async () => {
    const t = setup();
    t.write('bilhetagem.config.json', { format: 'yaml' });
    const r = await cli(['validate', 'r.ndjson'], { cwd: t.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"format" must be one of "text", "json", got "yaml"');
    t.write('bilhetagem.config.json', '{\n  "rules": "x",\n}\n');
    const bad = await cli(['validate', 'r.ndjson'], { cwd: t.dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bilhetagem\.config\.json:3:1: invalid JSON/);
  });

  it('boolean environment variables read 0/false/no as false', async () => {
    const copy = copyRuleset();
    try {
      copy.write('rules/rules/extra.rules.json', { rules: [] });
      const base = ['lint', '--rules', copy.rules, '--mappings', copy.mappings];
      expect((await cli(base)).code).toBe(0);
      expect((await cli(base, { env: { BILHETAGEM_DENY_WARNINGS: '1' } })).code).toBe(1);
      expect((await cli(base, { env: { BILHETAGEM_DENY_WARNINGS: 'false' } })).code).toBe(0);
    } finally {
      copy.cleanup();
    }
  });
});

describe('--help', () => {
  it.each(['validate', 'convert', 'explain', 'lint', 'test', 'backtest'])('%s --help shows each flag with its env var and config key, and an example', async (command) => {
    const r = await cli([command, '--help']);
    expect(r.code).toBe(0);
    const flat = r.stdout.replace(/\s+/g, ' ');
    expect(flat).toMatch(/--rules <dir> .*\[config: rules\] .*env: BILHETAGEM_RULES/);
    expect(flat).toMatch(/--mappings <dir> .*env: BILHETAGEM_MAPPINGS/);
    expect(flat).toMatch(/--config <file> .*env: BILHETAGEM_CONFIG/);
    expect(r.stdout).toContain('Example:');
    // every option line of the help carries "env:"
    const options = r.stdout.split('Options:')[1].split(/\n\n/)[0];
    const flags = options.split('\n').filter((l) => /^\s{2}-/.test(l) && !l.includes('--help'));
    expect(flags.length).toBeGreaterThan(2);
    const blocks = options.split(/\n(?=\s{2}-)/).filter((b) => b.trim() && !b.includes('--help'));
    for (const b of blocks) expect(b.replace(/\s+/g, ' ')).toMatch(/env: BILHETAGEM_[A-Z_]+/);
  });

  it('the top-level help lists the commands; --version prints the version', async () => {
    const r = await cli(['--help']);
    expect(r.stdout).toMatch(/validate[\s\S]*convert[\s\S]*explain[\s\S]*lint[\s\S]*test[\s\S]*backtest/);
    const v = await cli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('an unknown command or flag exits 2', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['lint', '--nope'])).code).toBe(2);
  });
});
