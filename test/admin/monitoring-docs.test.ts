/** docs/monitoring/ ships Prometheus rules and a Grafana dashboard: they must name series that exist and agree with the panel's alerts. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADMIN_DEFAULTS } from '../../src/admin/options.ts';
import { ROOT } from '../support/ruleset.ts';

const rules = readFileSync(join(ROOT, 'docs/monitoring/alerts.yml'), 'utf8');
const dashboard = JSON.parse(readFileSync(join(ROOT, 'docs/monitoring/grafana-dashboard.json'), 'utf8'));

/** Every metric name some source file writes. */
function emitted(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      if (d.isDirectory()) walk(join(dir, d.name));
      else if (d.name.endsWith('.ts')) for (const m of readFileSync(join(dir, d.name), 'utf8').matchAll(/['"`](bilhetagem_[a-z_]+|process_[a-z_]+|nodejs_[a-z_]+)['"`\s{]/g)) names.add(m[1]!.replace(/_(bucket|sum|count)$/, ''));
    }
  };
  walk(join(ROOT, 'src'));
  return names;
}

function used(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/\b(bilhetagem_[a-z_]+|process_[a-z_]+|nodejs_[a-z_]+)\b/g)) out.add(m[1]!.replace(/_(bucket|sum|count)$/, ''));
  return [...out];
}

describe('docs/monitoring', () => {
  const known = emitted();

  it('the alert rules and the dashboard only use series bilhetagem exposes', () => {
    const exprs = JSON.stringify(dashboard.panels.flatMap((p: { targets?: { expr: string }[] }) => (p.targets ?? []).map((t) => t.expr)));
    const missing = [...used(rules), ...used(exprs)].filter((n) => !known.has(n));
    expect(missing).toEqual([]);
  });

  it('has one rule for each alert of the panel, with the same default thresholds', () => {
    for (const name of ['BilhetagemDeadLettersGrowing', 'BilhetagemBreakerOpen', 'BilhetagemRejectsSpiking', 'BilhetagemOldestUndeliveredTooOld']) expect(rules).toContain(`alert: ${name}`);
    const a = ADMIN_DEFAULTS.alerts;
    expect(rules).toContain(`bilhetagem_outbox_oldest_pending_age_seconds) > ${a.oldestPendingSeconds}`);
    expect(rules).toContain(`>= ${a.rejectShare}`);
    expect(rules).toContain(`[5m])) >= ${a.rejectMinimum}`);
    expect(rules).toContain(`[${a.deadLetterWindowMinutes}m]`);
    // YAML: two-space indentation, no tabs.
    expect(rules).not.toMatch(/\t/);
  });

  it('is a dashboard Grafana can import: unique panel ids, a datasource variable, a query on every panel', () => {
    expect(dashboard.uid).toBe('bilhetagem-overview');
    const ids = dashboard.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.templating.list[0]).toMatchObject({ type: 'datasource', name: 'datasource' });
    for (const p of dashboard.panels.filter((x: { type: string }) => x.type !== 'row')) expect(p.targets.length, p.title).toBeGreaterThan(0);
  });
});
