import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/adapters/memory/index.ts';
import { createForwarder, expandEnv, mappingTargets, mockBillerTargets, outputsForTargets, resolveTargets } from '../../src/forwarder/index.ts';

describe('targets config', () => {
  it('expands ${VAR} and ${VAR:-default} from the environment given, and $${ is a literal', () => {
    const env = { TOKEN: 's3cret', EMPTY: '' };
    expect(expandEnv({ a: 'Bearer ${TOKEN}', b: ['${MISSING:-fallback}'], c: '$${TOKEN}', d: '${EMPTY:-x}', n: 3 }, env)).toEqual({
      a: 'Bearer s3cret',
      b: ['fallback'],
      c: '${TOKEN}',
      d: 'x',
      n: 3,
    });
  });

  it('names the missing variable and where it is used, with a code', () => {
    const run = () => resolveTargets({ lago: { preset: 'lago', apiKey: '${LAGO_API_KEY}' } }, { env: {} });
    expect(run).toThrow(expect.objectContaining({ code: 'BLH_ERR_ENV_MISSING', details: { variable: 'LAGO_API_KEY', path: 'targets.lago.apiKey' } }));
    expect(run).toThrow(/LAGO_API_KEY is not set/);
  });

  it('builds each target with its preset and ties it to a mapping folder', () => {
    const targets = resolveTargets(
      {
        billing: { preset: 'http', url: 'http://127.0.0.1:9090/v1/charges', auth: { type: 'bearer', token: '${T}' } },
        'billing-eu': { preset: 'http', url: 'http://127.0.0.1:9090/v1/charges', mapping: 'lago', batch: true },
        lago: { preset: 'lago', url: 'http://127.0.0.1:9090', apiKey: 'k', retry: { attempts: 3 }, breaker: { coolDownMs: 1000 } },
        om: { preset: 'openmeter' },
        stripe: { preset: 'stripe', apiKey: 'sk' },
      },
      { env: { T: 'tok' } },
    );
    expect(Object.fromEntries(Object.entries(targets).map(([n, t]) => [n, [t.preset, t.mapping, t.adapter.name, t.adapter.maxBatch]]))).toEqual({
      billing: ['http', 'default', 'billing', 1],
      'billing-eu': ['http', 'lago', 'billing-eu', 100],
      lago: ['lago', 'lago', 'lago', 100],
      om: ['openmeter', 'openmeter', 'om', 100],
      stripe: ['stripe', 'stripe', 'stripe', 1],
    });
    expect(targets.lago!.retry).toMatchObject({ attempts: 3, maxAgeMs: 72 * 3600_000 });
    expect(targets.lago!.breaker).toEqual({ coolDownMs: 1000 });
    const req = targets.billing!.adapter.buildRequests([{ rowId: '1', source: 's', id: 'i', idempotencyKey: 's:i', output: { a: 1 }, attempt: 1 }]).requests[0]!;
    expect(req.headers).toMatchObject({ authorization: 'Bearer tok', 'idempotency-key': 's:i' });
    expect(`${req.origin}${req.path}`).toBe('http://127.0.0.1:9090/v1/charges');
  });

  it('refuses unknown options, presets, bad names and bad values by name', () => {
    const err = (config: unknown) => {
      try {
        resolveTargets(config, { env: {} });
      } catch (e) {
        return e as { code: string; message: string; details: Record<string, unknown> };
      }
      throw new Error('no error');
    };
    expect(err({ b: { preset: 'http', url: 'http://x', apiKey: 'k' } })).toMatchObject({ code: 'BLH_ERR_TARGET_CONFIG', details: { target: 'b', option: 'apiKey' } });
    expect(err({ b: { preset: 'kafka' } })).toMatchObject({ code: 'BLH_ERR_TARGET_CONFIG', details: { option: 'preset' } });
    expect(err({ 'bad name': { preset: 'http', url: 'http://x' } })).toMatchObject({ code: 'BLH_ERR_TARGET_CONFIG' });
    expect(err({ l: { preset: 'lago' } })).toMatchObject({ code: 'BLH_ERR_TARGET_CONFIG', details: { target: 'l', option: 'apiKey' } });
    expect(err({ l: { preset: 'lago', apiKey: 'k', url: 'ftp://x' } }).message).toMatch(/targets\.l: option "url"/);
    expect(err({ b: { preset: 'http', url: 'http://x', retry: { attempts: 0 } } })).toMatchObject({ details: { option: 'attempts' } });
    expect(err({ b: { preset: 'http', url: 'http://x', retry: { tries: 1 } } })).toMatchObject({ details: { option: 'tries' } });
    expect(err({ b: { preset: 'http', url: 'http://x', breaker: { failureRate: 2 } } })).toMatchObject({ code: 'BLH_ERR_TARGET_CONFIG' });
    expect(err([])).toMatchObject({ code: 'BLH_ERR_TARGET_CONFIG' });
  });

  it('refuses a mapping folder that does not exist when the folders are known', () => {
    expect(() => resolveTargets({ b: { preset: 'http', url: 'http://x', mapping: 'nope' } }, { mappings: ['default', 'lago'] })).toThrow(/mappings\/nope\/, which does not exist/);
  });

  it('renames the pipeline outputs to target names; targets may share a mapping; no targets leaves them as they are', () => {
    const outputs = { default: { q: 1 }, lago: { transaction_id: 't' }, stripe: { e: 1 } };
    const targets = { billing: { preset: 'http' }, backup: { preset: 'http', mapping: 'default' }, lago: { preset: 'lago' }, om: { preset: 'openmeter' } };
    expect(outputsForTargets(outputs, targets)).toEqual({ billing: { q: 1 }, backup: { q: 1 }, lago: { transaction_id: 't' } });
    expect(outputsForTargets(outputs, {})).toBe(outputs);
    expect(outputsForTargets(outputs, undefined)).toBe(outputs);
    expect(mappingTargets(targets)).toEqual(['default', 'lago', 'openmeter']);
  });

  it('mockBillerTargets points every preset at a mock biller, named after the mapping folders', () => {
    const t = resolveTargets(mockBillerTargets('http://127.0.0.1:9090/'));
    expect(Object.keys(t)).toEqual(['default', 'lago', 'openmeter', 'stripe']);
    expect(Object.values(t).map((x) => x.mapping)).toEqual(['default', 'lago', 'openmeter', 'stripe']);
  });
});

describe('createForwarder options', () => {
  const store = createMemoryStore();
  it('refuses unknown options by name and a lease shorter than two timeouts', () => {
    expect(() => createForwarder({ store, targets: {}, leaseMS: 1 } as never)).toThrow(expect.objectContaining({ code: 'BLH_ERR_OPTIONS', details: expect.objectContaining({ option: 'leaseMS' }) }));
    expect(() => createForwarder({ store, targets: { b: { preset: 'http', url: 'http://x', timeoutMs: 5000 } }, leaseMs: 10_000 })).toThrow(/more than twice the timeoutMs of target "b"/);
    expect(() => createForwarder({ store, targets: {}, batchSize: 0 })).toThrow(expect.objectContaining({ code: 'BLH_ERR_OPTIONS' }));
  });

  it('reports the resolved options and the targets', () => {
    const f = createForwarder({ store, targets: { b: { preset: 'http', url: 'http://x' } }, worker: 'w1' });
    expect(f.options).toEqual({ worker: 'w1', leaseMs: 60_000, pollIntervalMs: 1000, batchSize: 100, statsIntervalMs: 10_000 });
    expect(f.stats()).toMatchObject({ worker: 'w1', state: 'idle', targets: { b: { preset: 'http', mapping: 'default', inFlightRequests: 0, breaker: { state: 'closed' } } } });
  });
});
