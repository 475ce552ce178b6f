import { describe, it, expect } from 'vitest';
import { cli, voiceRecord, NOW } from './helpers.ts';

describe('bilhetagem explain', () => {
  it('shows the schema, every rule with its conditions, and the rejection (exit 1)', async () => {
    const r = await cli(['explain', 'examples/record.json', '--now', NOW]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('schema  ✓ valid  (rules/schemas/voice.call.completed.schema.json)');
    expect(r.stdout).toMatch(/facts\n(.*\n)*? {2}age_s +120\n/);
    expect(r.stdout).toMatch(/✗ time-in-future {2}→ reject TIME_IN_FUTURE {3}priority 100, rules\/rules\/common\.rules\.json:\d+\n {6}✗ all\n {10}✗ age_s lessThan -300 {3}age_s = 120/);
    expect(r.stdout).toMatch(
      /✓ premium-needs-business-plan {2}→ reject PREMIUM_NOT_ALLOWED {2}\(fired\).*\n {6}✓ all\n {10}✓ data \$\.to startsWith "\+55900" {3}data \$\.to = "\+5590012345678"\n {10}✓ customer notEqual null .*\n {10}✓ customer \$\.plan notEqual "business" {3}customer \$\.plan = "basic"/,
    );
    expect(r.stdout).toMatch(/✓ premium-call {2}→ annotate premium \{"rate_class":"premium"\} {2}\(fired\)/);
    expect(r.stdout).toMatch(/result {2}✗ rejected\n {2}PREMIUM_NOT_ALLOWED {2}Calls to premium numbers/);
  });

  it('shows the mapping output of an accepted record, read from stdin (exit 0)', async () => {
    const r = await cli(['explain', '-', '--now', NOW], { input: JSON.stringify(voiceRecord('x', {}, { to: '+5590012345678' })) });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/result {2}✓ accepted\n {2}annotation premium \{"rate_class":"premium"\} {2}\(rule premium-call\)\n {2}output \(default\):\n {4}\{\n {6}"idempotency_key": "voice-platform:x",/);
  });

  it('--target shows another target\'s output', async () => {
    const r = await cli(['explain', '-', '--now', NOW, '--target', 'stripe'], { input: JSON.stringify(voiceRecord('x')) });
    expect(r.stdout).toContain('output (stripe):');
    expect(r.stdout).toContain('"event_name": "voice_out"');
  });

  it('shows schema errors and an unknown type', async () => {
    const bad = await cli(['explain', '-', '--now', NOW], { input: JSON.stringify(voiceRecord('x', {}, { duration_s: -1 })) });
    expect(bad.stdout).toMatch(/schema {2}✗ invalid .*\n {10}SCHEMA_VIOLATION {2}\/data\/duration_s must be >= 0/);
    expect(bad.stdout).not.toContain('rules, in the order they run');
    const unknown = await cli(['explain', '-', '--now', NOW], { input: JSON.stringify(voiceRecord('x', { type: 'fax.sent' })) });
    expect(unknown.stdout).toContain('type    fax.sent  (not a type of the manifest)');
    expect(unknown.stdout).toContain('UNKNOWN_TYPE');
  });

  it('--format json is the whole Explanation', async () => {
    const r = await cli(['explain', 'examples/record.json', '--now', NOW, '--format', 'json']);
    const e = JSON.parse(r.stdout);
    expect(e).toMatchObject({ now: '2026-11-25T12:00:00.000Z', type: 'voice.call.completed', knownType: true, schema: { valid: true, errors: [] }, result: { verdict: 'rejected' } });
    const premium = e.rules.find((x: any) => x.name === 'premium-needs-business-plan');
    expect(premium).toMatchObject({ fired: true, conditions: { kind: 'all', result: true, children: [{ kind: 'fact', fact: 'data', path: '$.to', operator: 'startsWith', factValue: '+5590012345678', result: true }, {}, {}] } });
  });

  it('a record that is not JSON is an error with its position (exit 2)', async () => {
    const r = await cli(['explain', '-', '--now', NOW], { input: '{"id": 1,\n  oops }' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/<stdin>:2:3: invalid JSON .*\[BLH_ERR_JSON_PARSE\]/);
  });
});
