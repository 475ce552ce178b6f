import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../src/errors.js';
import { ForwarderError } from '../../src/forwarder/errors.js';
import { TargetPresets, createTarget } from '../../src/forwarder/targets/index.js';

describe('createTarget', () => {
  it('builds each preset by name with its defaults', () => {
    const http = createTarget({ preset: 'http', url: 'http://127.0.0.1:1/v1/charges' });
    const lago = createTarget({ preset: 'lago', apiKey: 'k' });
    const om = createTarget({ preset: 'openmeter' });
    const stripe = createTarget({ preset: 'stripe', apiKey: 'sk_test_1', name: 'stripe-eu' });
    expect([http, lago, om, stripe].map((t) => [t.preset, t.name, t.maxBatch, typeof t.keyFor])).toEqual([
      ['http', 'http', 1, 'undefined'],
      ['lago', 'lago', 100, 'undefined'],
      ['openmeter', 'openmeter', 100, 'undefined'],
      ['stripe', 'stripe-eu', 1, 'function'],
    ]);
    for (const t of [http, lago, om, stripe]) {
      expect(t.concurrency).toBeGreaterThan(0);
      expect(t.timeoutMs).toBeGreaterThan(0);
    }
    expect(TargetPresets).toEqual(['http', 'lago', 'openmeter', 'stripe']);
  });

  it('rejects an unknown preset with a coded error', () => {
    try {
      createTarget({ preset: 'chargebee' } as never);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ForwarderError);
      expect((error as ForwarderError).code).toBe('BLH_ERR_UNKNOWN_TARGET_PRESET');
    }
  });

  it('rejects unknown options by name', () => {
    expect(() => createTarget({ preset: 'openmeter', token: 'x' } as never)).toThrow(OptionsError);
    expect(() => createTarget({ preset: 'stripe', apiKey: 'sk', batch: true } as never)).toThrow(/unknown option "batch"/);
    expect(() => createTarget({ preset: 'lago', apiKey: 'k', apiUrl: 'ftp://x' })).toThrow(/http\(s\) URL/);
    expect(() => createTarget({ preset: 'lago', apiKey: 'k', concurrency: 0 })).toThrow(/concurrency/);
  });
});
