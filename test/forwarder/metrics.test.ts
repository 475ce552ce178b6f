/** Bound series (the forwarder's hot path) count into the same series as inc/observe with the same labels. */
import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '../../src/forwarder/metrics.ts';

describe('metrics: bound series', () => {
  it('counts into the series of its labels, which shows only once something was counted', () => {
    const registry = createMetricsRegistry();
    const counter = registry.counter('t_total', 'help', ['target', 'outcome']);
    const bound = counter.bind({ target: 'a', outcome: 'delivered' });
    expect(registry.render()).not.toContain('t_total{');
    bound.inc();
    bound.inc(2);
    counter.inc({ target: 'a', outcome: 'delivered' });
    expect(counter.value({ target: 'a', outcome: 'delivered' })).toBe(4);
    expect(registry.render()).toContain('t_total{target="a",outcome="delivered"} 4');
  });

  it('observes into the histogram series of its labels, in the right bucket', () => {
    const registry = createMetricsRegistry();
    const histogram = registry.histogram('t_seconds', 'help', ['target'], [0.1, 1]);
    const bound = histogram.bind({ target: 'a' });
    expect(registry.render()).not.toContain('t_seconds_count{');
    bound.observe(0.05);
    bound.observe(0.5);
    histogram.observe({ target: 'a' }, 5);
    const text = registry.render();
    expect(text).toContain('t_seconds_bucket{target="a",le="0.1"} 1');
    expect(text).toContain('t_seconds_bucket{target="a",le="1"} 2');
    expect(text).toContain('t_seconds_bucket{target="a",le="+Inf"} 3');
    expect(text).toContain('t_seconds_count{target="a"} 3');
    expect(text).toContain('t_seconds_sum{target="a"} 5.55');
  });
});
