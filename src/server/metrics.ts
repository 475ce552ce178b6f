/**
 * Prometheus metrics in the text exposition format, kept by hand (a few counters and one histogram do
 * not need a client library). Counters live in maps keyed by their label values; gauges that belong to
 * the store (queue depth) are read from it at scrape time.
 */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export interface Metrics {
  record(verdict: string, code: string): void;
  reason(code: string): void;
  request(method: string, route: string, status: number, seconds: number): void;
  /** The text of every metric kept here plus `extra` lines (gauges computed by the caller). */
  render(extra: string[]): string;
}

export function createMetrics(): Metrics {
  // Keyed by the raw label values; the escaped label text is built once, when a key is first seen.
  const records = new Map<string, { labels: string; n: number }>();
  const reasons = new Map<string, { labels: string; n: number }>();
  const latency = new Map<string, Histogram>();
  // method -> route -> status -> histogram, so a request costs three lookups and no string building.
  const byRequest = new Map<string, Map<string, Map<number, Histogram>>>();

  return {
    record(verdict, code) {
      const k = `${verdict}\n${code}`;
      const c = records.get(k);
      if (c) c.n += 1;
      else records.set(k, { labels: `verdict="${esc(verdict)}",code="${esc(code)}"`, n: 1 });
    },
    reason(code) {
      const c = reasons.get(code);
      if (c) c.n += 1;
      else reasons.set(code, { labels: `code="${esc(code)}"`, n: 1 });
    },
    request(method, route, status, seconds) {
      let routes = byRequest.get(method);
      if (!routes) byRequest.set(method, (routes = new Map()));
      let statuses = routes.get(route);
      if (!statuses) routes.set(route, (statuses = new Map()));
      let h = statuses.get(status);
      if (!h) {
        h = { counts: new Array(LATENCY_BUCKETS.length).fill(0), sum: 0, count: 0 };
        statuses.set(status, h);
        latency.set(`method="${esc(method)}",route="${esc(route)}",status_code="${status}"`, h);
      }
      for (let i = 0; i < LATENCY_BUCKETS.length; i++) if (seconds <= LATENCY_BUCKETS[i]) h.counts[i] += 1;
      h.sum += seconds;
      h.count += 1;
    },
    render(extra) {
      const out: string[] = [];
      out.push('# HELP bilhetagem_records_total Records answered, by verdict (accepted, skipped, duplicate, conflict, rejected) and code (skip code, first rejection code).');
      out.push('# TYPE bilhetagem_records_total counter');
      for (const { labels, n } of records.values()) out.push(`bilhetagem_records_total{${labels}} ${n}`);
      out.push('# HELP bilhetagem_rejection_reasons_total Reasons given in rejections, one per reason.');
      out.push('# TYPE bilhetagem_rejection_reasons_total counter');
      for (const { labels, n } of reasons.values()) out.push(`bilhetagem_rejection_reasons_total{${labels}} ${n}`);
      out.push('# HELP bilhetagem_http_request_duration_seconds Time from a request arriving to its answer being sent.');
      out.push('# TYPE bilhetagem_http_request_duration_seconds histogram');
      for (const [k, h] of latency) {
        LATENCY_BUCKETS.forEach((le, i) => out.push(`bilhetagem_http_request_duration_seconds_bucket{${k},le="${le}"} ${h.counts[i]}`));
        out.push(`bilhetagem_http_request_duration_seconds_bucket{${k},le="+Inf"} ${h.count}`);
        out.push(`bilhetagem_http_request_duration_seconds_sum{${k}} ${h.sum}`);
        out.push(`bilhetagem_http_request_duration_seconds_count{${k}} ${h.count}`);
      }
      out.push(...extra);
      return `${out.join('\n')}\n`;
    },
  };
}

/** A label value in the exposition format: backslash, double quote and newline escaped. */
export function esc(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}
