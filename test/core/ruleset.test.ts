import { describe, it, expect, afterEach } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRuleset, checkFile, type FileKind } from '../../src/index.ts';
import { RULES_DIR, MAPPINGS_DIR, copyRuleset } from '../support/ruleset.ts';

let copy: ReturnType<typeof copyRuleset> | undefined;
afterEach(() => copy?.cleanup());
const broken = () => (copy = copyRuleset());
const load = () => loadRuleset({ rules: copy!.rules, mappings: copy!.mappings });

function walk(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

describe('the shipped ruleset', () => {
  it('loads, with a content-hash version', async () => {
    const rs = await loadRuleset({ rules: RULES_DIR, mappings: MAPPINGS_DIR });
    expect(Object.keys(rs.types).sort()).toEqual(['data.session.closed', 'sms.sent', 'storage.usage.hourly', 'voice.call.completed']);
    expect(rs.version).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(rs.mappings.default).toBeDefined();
  });

  it('every file matches the JSON Schema of its kind', () => {
    const kindOf = (p: string): FileKind | undefined =>
      p.endsWith('manifest.json') ? 'manifest' : p.endsWith('.rules.json') ? 'rules' : p.includes('/reference/') && p.endsWith('.json') ? 'reference' : p.endsWith('.mapping.json') ? 'mapping' : p.endsWith('.test.json') ? 'test' : undefined;
    let checked = 0;
    for (const file of [...walk(RULES_DIR), ...walk(MAPPINGS_DIR)]) {
      const kind = kindOf(file);
      if (!kind) continue;
      const text = readFileSync(file, 'utf8');
      expect(checkFile(kind, file, text, JSON.parse(text)), file).toEqual([]);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  });

  it('the version changes with any decision-making byte, and not with a test fixture', async () => {
    copy = copyRuleset();
    const v1 = (await load()).version;
    copy.write('rules/tests/extra.test.json', { cases: [{ name: 'x', record: {}, expect: { verdict: 'rejected' } }] });
    expect((await load()).version).toBe(v1);
    copy.write('rules/reference/customers.json', copy.read('rules/reference/customers.json').replace('"basic", "status": "active"', '"business", "status": "active"'));
    expect((await load()).version).not.toBe(v1);
  });
});

describe('a bad file fails with its name, JSON path, line and column', () => {
  it('malformed JSON', async () => {
    broken().write('rules/rules/voice.rules.json', '{\n  "rules": [\n    { "name": "x", }\n  ]\n}\n');
    await expect(load()).rejects.toMatchObject({ code: 'BLH_ERR_JSON_PARSE', details: { file: 'rules/rules/voice.rules.json', line: 3, column: 20 } });
  });

  it('an unknown property in a rule', async () => {
    const c = broken();
    const f = JSON.parse(c.read('rules/rules/data.rules.json'));
    f.rules[0].prority = 5;
    c.write('rules/rules/data.rules.json', f);
    const err = await load().catch((e) => e);
    expect(err).toMatchObject({ code: 'BLH_ERR_FILE_INVALID', details: { file: 'rules/rules/data.rules.json', path: '/rules/0/prority' } });
    expect(err.details.line).toBeGreaterThan(1);
    expect(err.message).toMatch(/rules\/rules\/data\.rules\.json:\d+:\d+: \/rules\/0\/prority has an unknown property "prority"/);
  });

  it('a reject event without a code', async () => {
    const c = broken();
    const f = JSON.parse(c.read('rules/rules/data.rules.json'));
    f.rules[0].event = { type: 'skip', params: { message: 'no code' } };
    c.write('rules/rules/data.rules.json', f);
    await expect(load()).rejects.toMatchObject({ code: 'BLH_ERR_FILE_INVALID', details: { path: '/rules/0/event/params' } });
  });

  it('an unknown operator and an unknown fact', async () => {
    const c = broken();
    const f = JSON.parse(c.read('rules/rules/data.rules.json'));
    f.rules[0].conditions.all[0].operator = 'equals';
    c.write('rules/rules/data.rules.json', f);
    await expect(load()).rejects.toMatchObject({ code: 'BLH_ERR_RULE_INVALID', message: expect.stringMatching(/unknown operator "equals"/), details: { path: '/rules/0/conditions/all/0/operator' } });
    f.rules[0].conditions.all[0].operator = 'equal';
    f.rules[0].conditions.all[0].fact = 'dat';
    c.write('rules/rules/data.rules.json', f);
    await expect(load()).rejects.toMatchObject({ code: 'BLH_ERR_RULE_INVALID', message: expect.stringMatching(/unknown fact "dat"/) });
  });

  it('duplicate rule names across files', async () => {
    const c = broken();
    const f = JSON.parse(c.read('rules/rules/data.rules.json'));
    f.rules[0].name = 'time-too-old';
    c.write('rules/rules/data.rules.json', f);
    await expect(load()).rejects.toMatchObject({ code: 'BLH_ERR_RULE_INVALID', message: expect.stringMatching(/"time-too-old" is already used in rules\/rules\/common\.rules\.json/) });
  });

  it('a JSONata syntax error, with its position in the expression', async () => {
    const c = broken();
    const f = JSON.parse(c.read('mappings/default/sms.sent.mapping.json'));
    f.expression = '{ "quantity": data.segments +  }';
    c.write('mappings/default/sms.sent.mapping.json', f);
    const err = await load().catch((e) => e);
    expect(err).toMatchObject({ code: 'BLH_ERR_MAPPING_SYNTAX', details: { file: 'mappings/default/sms.sent.mapping.json', path: '/expression', expressionLine: 1 } });
  });

  it('a manifest naming a missing file', async () => {
    const c = broken();
    const m = JSON.parse(c.read('rules/manifest.json'));
    m.types['sms.sent'].schema = 'schemas/sms.schema.json';
    c.write('rules/manifest.json', m);
    await expect(load()).rejects.toMatchObject({ code: 'BLH_ERR_RULESET_REFERENCE', details: { file: 'rules/manifest.json', path: '/types/sms.sent/schema', missing: 'rules/schemas/sms.schema.json' } });
  });

  it('a type without a default mapping, and a mapping in the wrong folder', async () => {
    const c = broken();
    const f = JSON.parse(c.read('mappings/default/sms.sent.mapping.json'));
    f.target = 'lago2';
    c.write('mappings/default/sms.sent.mapping.json', f);
    await expect(load()).rejects.toMatchObject({ code: 'BLH_ERR_FILE_INVALID', message: expect.stringMatching(/must match the folder/) });
  });

  it('a record schema with a misspelt keyword fails when compiled', async () => {
    const { createPipeline } = await import('../../src/index.ts');
    const c = broken();
    const s = JSON.parse(c.read('rules/schemas/sms.sent.schema.json'));
    s.properties.data.properties.segments.minimun = 1;
    c.write('rules/schemas/sms.sent.schema.json', s);
    const rs = await load();
    expect(() => createPipeline(rs)).toThrow(expect.objectContaining({ code: 'BLH_ERR_SCHEMA_COMPILE', details: { file: 'rules/schemas/sms.sent.schema.json' } }));
  });

  it('reference data from CSV, and a CSV with a duplicate key', async () => {
    const c = broken();
    const m = JSON.parse(c.read('rules/manifest.json'));
    m.reference.customers.file = 'reference/customers.csv';
    c.write('rules/manifest.json', m);
    c.write('rules/reference/customers.csv', 'id,plan,status\nacme,business,active\nglobex,basic,active\n');
    const rs = await load();
    expect(rs.reference.customers.rows).toEqual([
      { id: 'acme', plan: 'business', status: 'active' },
      { id: 'globex', plan: 'basic', status: 'active' },
    ]);
    c.write('rules/reference/customers.csv', 'id,plan,status\nacme,business,active\nacme,basic,active\n');
    await expect(load()).rejects.toMatchObject({ code: 'BLH_ERR_FILE_INVALID', details: { file: 'rules/reference/customers.csv', line: 3 } });
  });

  it('a missing rules folder', async () => {
    await expect(loadRuleset({ rules: '/nonexistent/rules', mappings: MAPPINGS_DIR })).rejects.toMatchObject({ code: 'BLH_ERR_FILE_READ' });
  });
});
