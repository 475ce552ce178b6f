/**
 * A small batch of realistic usage records stamped around "now", for `bilhetagem start`: mostly billable,
 * with the usual share of records the default ruleset skips or rejects, so a new user sees every verdict.
 */
export function demoRecords(nowMs: number, count = 40, runId = nowMs.toString(36)): Record<string, unknown>[] {
  const customers = ['acme', 'globex', 'umbrella', 'acme', 'globex', 'initech', 'nobody'];
  const at = (minutesAgo: number) => new Date(nowMs - minutesAgo * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const subject = customers[i % customers.length];
    const base = { specversion: '1.0', id: `demo-${runId}-${i}`, time: at(1 + (i % 50)), subject };
    switch (i % 4) {
      case 0:
        out.push({
          ...base,
          source: 'voice-platform',
          type: 'voice.call.completed',
          data: { duration_s: i % 9 === 0 ? 0 : 30 + ((i * 37) % 900), from: '+5511987654321', to: i % 10 === 0 ? '+55900123456' : '+5521912345678', direction: i % 7 === 0 ? 'inbound' : 'outbound', region: 'br-sp' },
        });
        break;
      case 1:
        out.push({ ...base, source: 'sms-gateway', type: 'sms.sent', data: { segments: 1 + (i % 3), to: '+14155550100', region: 'us-east' } });
        break;
      case 2:
        out.push({ ...base, source: 'mobile-core', type: 'data.session.closed', data: { bytes: (i * 7_654_321) % 3_000_000_000, apn: 'internet' } });
        break;
      default:
        out.push({ ...base, source: 'storage-svc', type: 'storage.usage.hourly', data: { gb: Math.round(((i * 13.37) % 500) * 1000) / 1000 } });
    }
  }
  return out;
}
