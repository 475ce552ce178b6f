/** Small helpers shared by the benchmark cases. */
export interface Row {
  name: string;
  value: number;
  unit: string;
  extra?: string;
}

export function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

export function printTable(title: string, rows: Row[], baseline?: string): void {
  console.log(`\n## ${title}`);
  const base = baseline ? rows.find((r) => r.name === baseline)?.value : undefined;
  const w = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) {
    const ratio = base ? `  ${(r.value / base).toFixed(2)}x ${baseline}` : '';
    console.log(`  ${r.name.padEnd(w)}  ${fmt(r.value).padStart(12)} ${r.unit}${ratio}${r.extra ? `  ${r.extra}` : ''}`);
  }
}

/** Runs fn until `ms` have passed (after a warm-up) and returns operations per second. */
export async function measure(fn: () => unknown | Promise<unknown>, opsPerCall: number, ms = 2000): Promise<number> {
  const warm = performance.now() + Math.min(500, ms / 4);
  while (performance.now() < warm) await fn();
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    await fn();
    ops += opsPerCall;
    now = performance.now();
  }
  return (ops / (now - start)) * 1000;
}

export function measureSync(fn: () => unknown, opsPerCall: number, ms = 2000): number {
  const warm = performance.now() + Math.min(500, ms / 4);
  while (performance.now() < warm) fn();
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    fn();
    ops += opsPerCall;
    now = performance.now();
  }
  return (ops / (now - start)) * 1000;
}

/** A billable voice call of the default ruleset, a minute old: the record the HTTP benchmarks send. */
export function voiceCall(id: string): Record<string, unknown> {
  return {
    specversion: '1.0',
    id,
    source: 'voice-platform',
    type: 'voice.call.completed',
    time: new Date(Date.now() - 60_000).toISOString(),
    subject: 'acme',
    data: { duration_s: 187, from: '+5511987654321', to: '+5521912345678', direction: 'outbound', region: 'br-sp' },
  };
}
