import { describe, it, expect, afterEach } from 'vitest';
import { cli } from './helpers.ts';
import { copyRuleset } from '../support/ruleset.ts';

let copy: ReturnType<typeof copyRuleset> | undefined;
afterEach(() => copy?.cleanup());

type Copy = ReturnType<typeof copyRuleset>;
const edit = (c: Copy, rel: string, fn: (v: any) => void) => {
  const v = JSON.parse(c.read(rel));
  fn(v);
  c.write(rel, v);
};
const lint = (c: Copy, ...extra: string[]) => cli(['lint', '--rules', c.rules, '--mappings', c.mappings, ...extra]);
/** Lines of the output, with the temp folder cut off so they read like rules/... and mappings/... */
const problems = (c: Copy, out: string) => out.split(c.dir + '/').join('');

const rule = (name: string, conditions: object, event: object = { type: 'skip', params: { code: 'X', message: 'x' } }) => ({ name, conditions, event });

describe('bilhetagem lint', () => {
  it('passes the shipped ruleset with --deny-warnings', async () => {
    const r = await cli(['lint', '--deny-warnings']);
    expect(r.stdout).toMatch(/✓ no problems in \d+ files \(ruleset sha256:[0-9a-f]{16}\)/);
    expect(r.code).toBe(0);
  });

  it('reports invalid JSON at its line and column', async () => {
    const c = (copy = copyRuleset());
    c.write('rules/rules/data.rules.json', '{\n  "rules": [\n    { "name": "x", }\n  ]\n}\n');
    const r = await lint(c);
    expect(r.code).toBe(1);
    expect(problems(c, r.stdout)).toContain('rules/rules/data.rules.json:3:20: error: invalid JSON (PropertyNameExpected) [json-syntax]');
  });

  it('reports every file-schema problem of a file, each with its position', async () => {
    const c = (copy = copyRuleset());
    edit(c, 'rules/rules/data.rules.json', (v) => {
      v.rules[0].prority = 5;
      v.rules[0].descripton = 'typo';
    });
    const out = problems(c, (await lint(c)).stdout);
    expect(out).toMatch(/rules\/rules\/data\.rules\.json:\d+:\d+: error: \/rules\/0\/prority has an unknown property "prority" \[file-schema\]/);
    expect(out).toMatch(/rules\/rules\/data\.rules\.json:\d+:\d+: error: \/rules\/0\/descripton has an unknown property "descripton" \[file-schema\]/);
  });

  it('reports every unknown operator, fact and shared condition (loading stops at the first)', async () => {
    const c = (copy = copyRuleset());
    edit(c, 'rules/rules/data.rules.json', (v) => {
      v.rules.push(rule('a', { all: [{ fact: 'dta', path: '$.bytes', operator: 'equals', value: 1 }] }));
      v.rules.push(rule('b', { all: [{ condition: 'nope' }, { fact: 'data', path: '$.bytes', operator: 'in', value: 3 }] }));
    });
    const r = await lint(c);
    expect(r.code).toBe(1);
    const out = problems(c, r.stdout);
    expect(out).toMatch(/data\.rules\.json:\d+:\d+: error: unknown fact "dta" \(did you mean "data"\?\).*\[unknown-fact\]/);
    expect(out).toMatch(/data\.rules\.json:\d+:\d+: error: unknown operator "equals" \(did you mean "equal"\?\).*\[unknown-operator\]/);
    expect(out).toMatch(/data\.rules\.json:\d+:\d+: error: shared condition "nope" is not defined.*\[unknown-condition\]/);
    expect(out).toMatch(/data\.rules\.json:\d+:\d+: error: operator "in" needs an array value \[invalid-condition\]/);
  });

  it('reports duplicate rule names', async () => {
    const c = (copy = copyRuleset());
    edit(c, 'rules/rules/data.rules.json', (v) => v.rules.push({ ...v.rules[0] }));
    expect(problems(c, (await lint(c)).stdout)).toMatch(/data\.rules\.json:\d+:\d+: error: rule name "zero-usage" is already used in rules\/rules\/data\.rules\.json:\d+ \[duplicate-rule\]/);
  });

  it('reports a JSONata syntax error at the line and column of the offending token', async () => {
    const c = (copy = copyRuleset());
    edit(c, 'mappings/default/sms.sent.mapping.json', (v) => (v.expression[4] = '  "quantity": data.segments +,'));
    const r = await lint(c);
    expect(r.code).toBe(1);
    // line 10 of the file is expression[4]; the "," after "+" is at column 37.
    expect(problems(c, r.stdout)).toContain('mappings/default/sms.sent.mapping.json:10:37: error: JSONata S0211: The symbol "," cannot be used as a unary operator [mapping-syntax]');
    expect(r.stdout).toContain('1 error, 0 warnings');
  });

  it('reports a mapping in the wrong folder or for an unknown type, and a missing file', async () => {
    const c = (copy = copyRuleset());
    edit(c, 'mappings/lago/sms.sent.mapping.json', (v) => (v.target = 'stripe'));
    edit(c, 'rules/manifest.json', (v) => (v.types['sms.sent'].schema = 'schemas/sms.schema.json'));
    const out = problems(c, (await lint(c)).stdout);
    expect(out).toMatch(/mappings\/lago\/sms\.sent\.mapping\.json:\d+:\d+: error: target "stripe" must match the folder .*\[mapping-target\]/);
    expect(out).toMatch(/rules\/manifest\.json:\d+:\d+: error: .*file rules\/schemas\/sms\.schema\.json does not exist \[missing-file\]/);
  });

  it('reports a record schema that does not compile', async () => {
    const c = (copy = copyRuleset());
    edit(c, 'rules/schemas/sms.sent.schema.json', (v) => (v.properties.data.properties.segments.minimun = 1));
    const out = problems(c, (await lint(c)).stdout);
    expect(out).toMatch(/rules\/schemas\/sms\.sent\.schema\.json:1:1: error: .*minimun.* \[schema-compile\]/);
  });

  it('warns about a type whose record schema the fast check does not take (ajv alone checks it)', async () => {
    const c = (copy = copyRuleset());
    edit(c, 'rules/schemas/sms.sent.schema.json', (v) => (v.properties.data.patternProperties = { '^x_': { type: 'string' } }));
    const r = await lint(c);
    expect(r.code).toBe(0);
    const out = problems(c, r.stdout);
    expect(out).toContain('rules/schemas/sms.sent.schema.json:1:1: warning: sms.sent: ajv alone checks this type\'s records: the fast check does not take keyword "patternProperties" [slow-schema]');
    expect(out.match(/\[slow-schema\]/g)).toHaveLength(1);
    expect((await lint(c, '--deny-warnings')).code).toBe(1);
  });

  it('warns about record paths no schema has, in rules and in mappings, at file:line:column', async () => {
    const c = (copy = copyRuleset());
    edit(c, 'rules/rules/voice.rules.json', (v) => (v.rules[3].conditions.all[0].path = '$.duraton_s'));
    edit(c, 'mappings/default/voice.call.completed.mapping.json', (v) => (v.expression[4] = '  "quantity": $ceil(data.duraton_s / 60),'));
    const r = await lint(c);
    expect(r.code).toBe(0);
    const out = problems(c, r.stdout);
    const ruleLine = c.read('rules/rules/voice.rules.json').split('\n').findIndex((l) => l.includes('$.duraton_s')) + 1;
    expect(out).toContain(
      `rules/rules/voice.rules.json:${ruleLine}:`,
    );
    expect(out).toMatch(/voice\.rules\.json:\d+:\d+: warning: data \$\.duraton_s: "duraton_s" is not a property of data in voice\.call\.completed \(did you mean "duration_s"\?\) \(known: direction, duration_s, from, region, to\) \[unknown-path\]/);
    expect(out).toContain('mappings/default/voice.call.completed.mapping.json:10:33: warning: data.duraton_s: "duraton_s" is not a property of data in voice.call.completed (did you mean "duration_s"?)');
    expect((await lint(c, '--deny-warnings')).code).toBe(1);
  });

  it('warns about lookup columns, annotations and variables that do not exist', async () => {
    const c = (copy = copyRuleset());
    edit(c, 'rules/rules/common.rules.json', (v) => (v.rules[3].conditions.all[0].path = '$.statuz'));
    edit(c, 'mappings/default/voice.call.completed.mapping.json', (v) => {
      v.expression[7] = '  "plan": $customer.plann,';
      v.expression[9] = '  "rate_class": $annotations.premum.rate_class,';
      v.expression[10] = '  "source": $sourse,';
    });
    const out = problems(c, (await lint(c)).stdout);
    expect(out).toMatch(/common\.rules\.json:\d+:\d+: warning: customer \$\.statuz: no row of reference table "customers" has a "statuz" column \(did you mean "status"\?\).*\[unknown-column\]/);
    expect(out).toMatch(/voice\.call\.completed\.mapping\.json:13:\d+: warning: \$customer\.plann: no row .* \[unknown-column\]/);
    expect(out).toMatch(/voice\.call\.completed\.mapping\.json:15:\d+: warning: \$annotations\.premum: no rule for voice\.call\.completed emits an event of type "premum" \(did you mean "premium"\?\).*\[unknown-annotation\]/);
    expect(out).toMatch(/voice\.call\.completed\.mapping\.json:16:\d+: warning: \$sourse is not bound .*\[unknown-variable\]/);
  });

  it('warns about rules that can never fire', async () => {
    const c = (copy = copyRuleset());
    edit(c, 'rules/rules/voice.rules.json', (v) => {
      v.rules.push(rule('contradiction', { all: [{ fact: 'data', path: '$.duration_s', operator: 'equal', value: 0 }, { fact: 'data', path: '$.duration_s', operator: 'equal', value: 5 }] }));
      v.rules.push(rule('out-of-range', { all: [{ fact: 'data', path: '$.duration_s', operator: 'greaterThan', value: 90000 }] }));
      v.rules.push(rule('not-in-enum', { all: [{ fact: 'data', path: '$.direction', operator: 'equal', value: 'outgoing' }] }));
      v.rules.push(rule('empty-range', { all: [{ fact: 'age_s', operator: 'greaterThan', value: 100 }, { fact: 'age_s', operator: 'lessThan', value: 50 }] }));
      v.rules.push(rule('wrong-type', { any: [{ fact: 'data', path: '$.duration_s', operator: 'equal', value: '60' }] }));
    });
    const r = await lint(c);
    const out = problems(c, r.stdout);
    expect(out).toMatch(/warning: rule "contradiction" can never fire: data\.duration_s cannot be 0 \(equal\) and equal 5 at once \[never-fires\]/);
    expect(out).toMatch(/warning: rule "out-of-range" can never fire: data\.duration_s greaterThan 90000, but data\.duration_s is between 0 and 86400 \[never-fires\]/);
    expect(out).toMatch(/warning: rule "not-in-enum" can never fire: data\.direction equal "outgoing", but data\.direction is always one of \["outbound","inbound"\] \[never-fires\]/);
    expect(out).toMatch(/warning: rule "empty-range" can never fire: age_s cannot be greaterThan 100 and lessThan 50 at once \[never-fires\]/);
    expect(out).toMatch(/warning: rule "wrong-type" can never fire: no alternative of "any" can hold .*is an integer\) \[never-fires\]/);
    expect(r.code).toBe(0);
  });

  it('warns about unused reference tables, facts, shared conditions and files', async () => {
    const c = (copy = copyRuleset());
    edit(c, 'rules/manifest.json', (v) => {
      v.reference.plans = { file: 'reference/plans.json' };
      v.facts.plan = { lookup: 'customers', key: 'data.plan' };
    });
    c.write('rules/reference/plans.json', { rows: [{ id: 'basic' }] });
    c.write('rules/reference/old.json', { rows: [] });
    c.write('rules/schemas/orphan.schema.json', { type: 'object' });
    edit(c, 'rules/rules/data.rules.json', (v) => (v.conditions = { 'is-big': { all: [{ fact: 'data', path: '$.bytes', operator: 'greaterThan', value: 1e9 }] } }));
    const r = await lint(c, '--deny-warnings');
    expect(r.code).toBe(1);
    const out = problems(c, r.stdout);
    expect(out).toMatch(/rules\/manifest\.json:\d+:\d+: warning: reference table "plans" is not looked up by any fact .*\[unused-reference\]/);
    expect(out).toMatch(/rules\/manifest\.json:\d+:\d+: warning: lookup fact "plan" is not used by any rule or mapping \[unused-fact\]/);
    expect(out).toMatch(/rules\/rules\/data\.rules\.json:\d+:\d+: warning: shared condition "is-big" is not used by any rule \[unused-condition\]/);
    expect(out).toContain('rules/reference/old.json:1:1: warning: unused file: a reference file the manifest does not list in "reference" [unused-file]');
    expect(out).toContain('rules/schemas/orphan.schema.json:1:1: warning: unused file: a schema no type, envelope or used schema refers to [unused-file]');
    expect(out).toMatch(/0 errors, 5 warnings in \d+ files/);
  });

  it('--format json lists the problems with the file as given and as the ruleset names it', async () => {
    const c = (copy = copyRuleset());
    c.write('rules/rules/extra.rules.json', { rules: [] });
    const r = await lint(c, '--format', 'json');
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ errors: 0, warnings: 1, problems: [{ file: `${c.rules}/rules/extra.rules.json`, rulesetFile: 'rules/rules/extra.rules.json', line: 1, column: 1, severity: 'warning', check: 'unused-file' }] });
  });

  it('exits 2 when the folders cannot be read', async () => {
    const r = await cli(['lint', '--rules', '/nonexistent']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[BLH_ERR_FILE_READ]');
  });
});
